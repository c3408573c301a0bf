"""Label selectors (equality- and set-based) and field selectors, parsed once, matched often.

Grammar, key/value rules and error texts follow k8s.io/apimachinery `pkg/labels/selector.go`,
`pkg/util/validation` and `pkg/fields/selector.go`; selectable fields per kind follow the
`AddFieldLabelConversionFunc` tables and `pkg/registry/*/strategy.go` `ToSelectableFields`.

CONTRACT:
    LabelSelector.parse(text) -> LabelSelector      raises ApiError 400 on bad syntax
    LabelSelector.from_spec(spec) -> LabelSelector  metav1.LabelSelector dict (matchLabels,
                                                    matchExpressions); {} matches everything,
                                                    None matches nothing; 400 on bad input
    LabelSelector.from_set(labels) -> LabelSelector equality on every pair (Service.spec.selector)
    LabelSelector.matches(labels: Mapping[str, str] | None) -> bool
    LabelSelector.empty -> bool                     True when it does not restrict anything
    LabelSelector.exact(key) -> str | None          the value `key` must equal, if any
    FieldSelector.parse(text, kind, *, custom=False, namespaced=True) -> FieldSelector
                                                    400 on syntax or a field unknown for kind
    FieldSelector.matches(obj: Mapping[str, Any]) -> bool
    FieldSelector.empty -> bool
    FieldSelector.exact(field) -> str | None        e.g. exact("metadata.name") for index use
    selectable_fields(obj, kind) -> dict[str, str]  the field set a field selector sees
    label_key_errors(key) / label_value_errors(value) -> list[str]   upstream's messages
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from harness.cluster.simulator.apierrors import ApiError

__all__ = [
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "label_key_errors",
    "label_value_errors",
    "selectable_fields",
]


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


# --- label key and value formats (k8s.io/apimachinery/pkg/util/validation) -------------------

_QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_RE: Final = re.compile(_QUALIFIED_NAME_FMT)
_QUALIFIED_NAME_MSG: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1123_SUBDOMAIN_MSG: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT: Final = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)
_LABEL_VALUE_MSG: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # Mirrors validation.RegexError, double spaces included, so messages read as upstream's.
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def label_key_errors(key: str) -> list[str]:
    """validation.IsQualifiedName: an optional DNS subdomain prefix and a 63-character name."""
    errors: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errors.append("prefix part must be no more than 253 characters")
            if not _DNS1123_SUBDOMAIN_RE.fullmatch(prefix):
                errors.append(
                    "prefix part "
                    + _regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com")
                )
    else:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errors.append(
            "name part "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    """validation.IsValidLabelValue: empty, or at most 63 characters of [-A-Za-z0-9_.]."""
    errors: list[str] = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(
            _regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errors


def _invalid(path: str, value: str, details: list[str]) -> str:
    # field.Invalid(...).Error(): a nil path prints as "<nil>" upstream.
    return f'{path}: Invalid value: "{value}": ' + "; ".join(details)


# --- requirements ----------------------------------------------------------------------------

IN: Final = "in"
NOT_IN: Final = "notin"
EQUALS: Final = "="
DOUBLE_EQUALS: Final = "=="
NOT_EQUALS: Final = "!="
EXISTS: Final = "exists"
DOES_NOT_EXIST: Final = "!"
GREATER_THAN: Final = "gt"
LESS_THAN: Final = "lt"

_BINARY_OPERATORS: Final = ("in", "notin", "=", "==", "!=", "gt", "lt")
_ALL_OPERATORS: Final = (*_BINARY_OPERATORS, "exists", "!")


def _as_int(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None


@dataclass(frozen=True)
class Requirement:
    """One `key op values` term; a selector is the AND of its requirements."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def build(cls, key: str, operator: str, values: list[str] | tuple[str, ...]) -> Requirement:
        """labels.NewRequirement: validates the key, the operator's arity and every value."""
        errors: list[str] = []
        if key_errors := label_key_errors(key):
            errors.append(_invalid("key", key, key_errors))
        if operator in (IN, NOT_IN):
            if not values:
                errors.append(
                    f"values: Invalid value: {_go_list(values)}: "
                    "for 'in', 'notin' operators, values set can't be empty"
                )
        elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
            if len(values) != 1:
                errors.append(
                    f"values: Invalid value: {_go_list(values)}: "
                    "exact-match compatibility requires one single value"
                )
        elif operator in (EXISTS, DOES_NOT_EXIST):
            if values:
                errors.append(
                    f"values: Invalid value: {_go_list(values)}: "
                    "values set must be empty for exists and does not exist"
                )
        elif operator in (GREATER_THAN, LESS_THAN):
            if len(values) != 1:
                errors.append(
                    f"values: Invalid value: {_go_list(values)}: "
                    "for 'Gt', 'Lt' operators, exactly one value is required"
                )
            for index, value in enumerate(values):
                if _as_int(value) is None:
                    errors.append(
                        f'values[{index}]: Invalid value: "{value}": '
                        "for 'Gt', 'Lt' operators, the value must be an integer"
                    )
        else:
            supported = ", ".join(f'"{op}"' for op in _ALL_OPERATORS)
            errors.append(
                f'operator: Unsupported value: "{operator}": supported values: {supported}'
            )
        for index, value in enumerate(values):
            if value_errors := label_value_errors(value):
                errors.append(_invalid(f"values[{index}][{key}]", value, value_errors))
        if errors:
            raise _bad_request(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
        return cls(key, operator, tuple(values))

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            value = labels.get(self.key)
            return value is not None and value in self.values
        if op in (NOT_IN, NOT_EQUALS):
            value = labels.get(self.key)
            return value is None or value not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        # Gt / Lt: both sides must parse as integers, as upstream.
        value = labels.get(self.key)
        have = _as_int(value) if value is not None else None
        want = _as_int(self.values[0]) if len(self.values) == 1 else None
        if have is None or want is None:
            return False
        return have > want if op == GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        joined = ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({joined})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{joined}"


def _go_list(values: list[str] | tuple[str, ...]) -> str:
    return "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"


# --- label selector lexer and parser (labels.Lexer / labels.Parser) --------------------------

_TOKENS: Final = {
    ")": "CLOSED_PAR",
    ",": "COMMA",
    "!": "NOT",
    "==": "DOUBLE_EQUALS",
    "=": "EQUALS",
    ">": "GREATER_THAN",
    "in": "IN",
    "<": "LESS_THAN",
    "!=": "NOT_EQUALS",
    "notin": "NOT_IN",
    "(": "OPEN_PAR",
}
_SPECIAL: Final = frozenset("=!(),><")
_WHITESPACE: Final = frozenset(" \t\r\n")
_OPERATOR_TOKENS: Final = {
    "IN": IN,
    "EQUALS": EQUALS,
    "DOUBLE_EQUALS": DOUBLE_EQUALS,
    "GREATER_THAN": GREATER_THAN,
    "LESS_THAN": LESS_THAN,
    "NOT_IN": NOT_IN,
    "NOT_EQUALS": NOT_EQUALS,
}


def _lex(text: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= end:
            items.append(("END", ""))
            return items
        if text[pos] in _SPECIAL:
            # Longest special-symbol run that is still a known token ("!=" over "!").
            best: tuple[str, str] | None = None
            buffer = ""
            scan = pos
            while scan < end and text[scan] in _SPECIAL:
                buffer += text[scan]
                if buffer in _TOKENS:
                    best = (_TOKENS[buffer], buffer)
                    scan += 1
                elif best is not None:
                    break
                else:
                    scan += 1
            if best is None:
                items.append(("ERROR", f"error expected: keyword found '{buffer}'"))
                pos = scan
            else:
                items.append(best)
                pos += len(best[1])
            continue
        start = pos
        while pos < end and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
            pos += 1
        word = text[start:pos]
        items.append((_TOKENS.get(word, "IDENTIFIER"), word))


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def _peek(self, values: bool = True) -> tuple[str, str]:
        token, literal = self.items[self.position]
        if values and token in ("IN", "NOT_IN"):
            token = "IDENTIFIER"
        return token, literal

    def _take(self, values: bool = True) -> tuple[str, str]:
        item = self._peek(values)
        self.position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self._peek()
            if token == "END":
                return requirements
            if token not in ("IDENTIFIER", "NOT"):
                raise _bad_request(
                    f"found '{literal}', expected: !, identifier, or 'end of string'"
                )
            try:
                requirements.append(self._requirement())
            except ApiError as error:
                raise _bad_request(f"unable to parse requirement: {error.message}") from None
            token, literal = self._take()
            if token == "END":
                return requirements
            if token != "COMMA":
                raise _bad_request(f"found '{literal}', expected: ',' or 'end of string'")
            token, literal = self._peek()
            if token not in ("IDENTIFIER", "NOT"):
                raise _bad_request(f"found '{literal}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        operator = ""
        token, literal = self._take()
        if token == "NOT":
            operator = DOES_NOT_EXIST
            token, literal = self._take()
        if token != "IDENTIFIER":
            raise _bad_request(f"found '{literal}', expected: identifier")
        key = literal
        if key_errors := label_key_errors(key):
            raise _bad_request(_invalid("<nil>", key, key_errors))
        if operator == DOES_NOT_EXIST or self._peek()[0] in ("END", "COMMA"):
            # "!key=value" ends the requirement at "key"; the caller then rejects "=".
            return Requirement.build(key, operator or EXISTS, ())
        token, literal = self._take(values=False)
        if token not in _OPERATOR_TOKENS:
            expected = ", ".join(("in", "notin", "=", "==", "!=", "gt", "lt"))
            raise _bad_request(f"found '{literal}', expected: {expected}")
        operator = _OPERATOR_TOKENS[token]
        values = self._values() if operator in (IN, NOT_IN) else self._exact_value()
        return Requirement.build(key, operator, sorted(values))

    def _values(self) -> set[str]:
        token, literal = self._take()
        if token != "OPEN_PAR":
            raise _bad_request(f"found '{literal}' expected: '('")
        token, literal = self._peek()
        if token == "CLOSED_PAR":
            self._take()
            return {""}
        if token not in ("IDENTIFIER", "COMMA"):
            raise _bad_request(f"found '{literal}', expected: ',', ')' or identifier")
        found: set[str] = set()
        while True:
            token, literal = self._take()
            if token == "IDENTIFIER":
                found.add(literal)
                after, after_literal = self._peek()
                if after == "COMMA":
                    continue
                if after == "CLOSED_PAR":
                    break
                raise _bad_request(f"found '{after_literal}', expected: ',' or ')'")
            if token == "COMMA":
                if not found:
                    found.add("")
                after, _ = self._peek()
                if after == "CLOSED_PAR":
                    found.add("")
                    break
                if after == "COMMA":
                    found.add("")
                continue
            raise _bad_request(f"found '{literal}', expected: ',', or identifier")
        token, literal = self._take()
        if token != "CLOSED_PAR":
            raise _bad_request(f"found '{literal}', expected: ')'")
        return found

    def _exact_value(self) -> set[str]:
        token, _ = self._peek()
        if token in ("END", "COMMA"):
            return {""}
        token, literal = self._take()
        if token == "IDENTIFIER":
            return {literal}
        raise _bad_request(f"found '{literal}', expected: identifier")


_LABEL_SELECTOR_OPERATORS: Final = {
    "In": IN,
    "NotIn": NOT_IN,
    "Exists": EXISTS,
    "DoesNotExist": DOES_NOT_EXIST,
}


class LabelSelector:
    """A parsed label selector; `None` requirements means "matches nothing" (a nil selector)."""

    __slots__ = ("_requirements",)

    def __init__(self, requirements: tuple[Requirement, ...] | None) -> None:
        self._requirements = requirements

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls(())

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(None)

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """labels.Parse: `a=b,c!=d,e in (f,g),h notin (i),j,!k`; requirements sorted by key."""
        if not text or not text.strip():
            return cls.everything()
        requirements = _LabelParser(text).parse()
        requirements.sort(key=lambda r: r.key)
        return cls(tuple(requirements))

    @classmethod
    def from_set(cls, labels: Mapping[str, str] | None) -> LabelSelector:
        """labels.SelectorFromSet: equality on every pair, unvalidated; empty matches all."""
        if not labels:
            return cls.everything()
        return cls(tuple(Requirement(k, EQUALS, (v,)) for k, v in sorted(labels.items())))

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> LabelSelector:
        """metav1.LabelSelectorAsSelector: None matches nothing, {} matches everything."""
        if spec is None:
            return cls.nothing()
        match_labels = spec.get("matchLabels") or {}
        match_expressions = spec.get("matchExpressions") or []
        if not match_labels and not match_expressions:
            return cls.everything()
        requirements: list[Requirement] = []
        for key, value in match_labels.items():
            requirements.append(Requirement.build(str(key), EQUALS, [str(value)]))
        for expression in match_expressions:
            operator = expression.get("operator")
            if operator not in _LABEL_SELECTOR_OPERATORS:
                raise _bad_request(f'"{operator}" is not a valid label selector operator')
            values = [str(v) for v in expression.get("values") or []]
            requirements.append(
                Requirement.build(
                    str(expression.get("key", "")), _LABEL_SELECTOR_OPERATORS[operator], values
                )
            )
        requirements.sort(key=lambda r: r.key)
        return cls(tuple(requirements))

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self._requirements or ()

    @property
    def empty(self) -> bool:
        return self._requirements is not None and not self._requirements

    @property
    def matches_nothing(self) -> bool:
        return self._requirements is None

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self._requirements is None:
            return False
        present = labels or {}
        return all(r.matches(present) for r in self._requirements)

    def exact(self, key: str) -> str | None:
        for requirement in self._requirements or ():
            if requirement.key == key:
                if (
                    requirement.operator in (EQUALS, DOUBLE_EQUALS, IN)
                    and len(requirement.values) == 1
                ):
                    return requirement.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self._requirements or ())

    def __repr__(self) -> str:
        return "LabelSelector(nothing)" if self._requirements is None else f"LabelSelector({self})"


# --- field selectors -------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    current: Any = obj
    for part in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pod_ip(pod: Mapping[str, Any]) -> str:
    # pod strategy: status.podIP is the first of status.podIPs when present.
    pod_ips = _get(pod, "status", "podIPs")
    if isinstance(pod_ips, list) and pod_ips and isinstance(pod_ips[0], Mapping):
        return _text(pod_ips[0].get("ip"))
    return _text(_get(pod, "status", "podIP"))


def _event_source(event: Mapping[str, Any]) -> str:
    # event strategy: source is source.component, else reportingController.
    return _text(_get(event, "source", "component")) or _text(event.get("reportingComponent"))


_FieldGetter = Callable[[Mapping[str, Any]], str]


def _path(*parts: str) -> _FieldGetter:
    return lambda obj: _text(_get(obj, *parts))


@dataclass(frozen=True)
class _KindFields:
    fields: Mapping[str, _FieldGetter]
    # Kinds with their own field-label conversion func answer "field label not supported";
    # the rest use runtime.DefaultMetaV1FieldSelectorConversion's wording.
    own_conversion: bool = True
    aliases: Mapping[str, str] | None = None


_KIND_FIELDS: Final[dict[str, _KindFields]] = {
    "Pod": _KindFields(
        {
            "spec.nodeName": _path("spec", "nodeName"),
            "spec.restartPolicy": _path("spec", "restartPolicy"),
            "spec.schedulerName": _path("spec", "schedulerName"),
            "spec.serviceAccountName": _path("spec", "serviceAccountName"),
            "spec.hostNetwork": lambda p: _text(bool(_get(p, "spec", "hostNetwork"))),
            "status.phase": _path("status", "phase"),
            "status.podIP": _pod_ip,
            "status.nominatedNodeName": _path("status", "nominatedNodeName"),
        },
        aliases={"spec.host": "spec.nodeName"},
    ),
    "Event": _KindFields(
        {
            "involvedObject.kind": _path("involvedObject", "kind"),
            "involvedObject.namespace": _path("involvedObject", "namespace"),
            "involvedObject.name": _path("involvedObject", "name"),
            "involvedObject.uid": _path("involvedObject", "uid"),
            "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
            "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
            "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
            "reason": _path("reason"),
            "reportingComponent": _path("reportingComponent"),
            "source": _event_source,
            "type": _path("type"),
        }
    ),
    "Namespace": _KindFields({"status.phase": _path("status", "phase")}),
    "Node": _KindFields(
        {"spec.unschedulable": lambda n: _text(bool(_get(n, "spec", "unschedulable")))}
    ),
    "Secret": _KindFields({"type": _path("type")}),
    "ReplicationController": _KindFields({"status.replicas": _path("status", "replicas")}),
    "ReplicaSet": _KindFields({"status.replicas": _path("status", "replicas")}),
}
_META_FIELDS: Final[dict[str, _FieldGetter]] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
_DEFAULT_FIELDS: Final = _KindFields({}, own_conversion=False)


def selectable_fields(obj: Mapping[str, Any], kind: str) -> dict[str, str]:
    """The fields.Set the real server builds for `obj` (what a field selector can see)."""
    spec = _KIND_FIELDS.get(kind, _DEFAULT_FIELDS)
    getters = {**_META_FIELDS, **spec.fields}
    return {name: getter(obj) for name, getter in getters.items()}


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def _unescape(value: str, selector: str) -> str:
    # fields.UnescapeValue: only \\, \, and \= are valid escapes.
    out: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise _bad_request(f"invalid field selector: '{selector}': invalid escape sequence")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise _bad_request(f"invalid field selector: '{selector}': unescaped '{char}' in value")
        else:
            out.append(char)
    if escaped:
        raise _bad_request(f"invalid field selector: '{selector}': invalid escape sequence")
    return "".join(out)


def _split_term(term: str) -> tuple[str, str, str] | None:
    for index in range(len(term)):
        if term[index] == "\\":
            continue
        if index > 0 and term[index - 1] == "\\":
            continue
        for operator in ("!=", "==", "="):
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator) :]
    return None


@dataclass(frozen=True)
class FieldTerm:
    field: str
    operator: str  # "=" (also for "==") or "!="
    value: str


class FieldSelector:
    """A parsed field selector: an AND of `field=value` / `field!=value` terms."""

    __slots__ = ("_getters", "terms")

    def __init__(self, terms: tuple[FieldTerm, ...], getters: Mapping[str, _FieldGetter]) -> None:
        self.terms = terms
        self._getters = getters

    @classmethod
    def everything(cls) -> FieldSelector:
        return cls((), {})

    @classmethod
    def parse(
        cls, text: str | None, kind: str, *, custom: bool = False, namespaced: bool = True
    ) -> FieldSelector:
        """fields.ParseSelector, then the kind's field-label conversion (400 on unknown fields)."""
        if not text:
            return cls.everything()
        if custom:
            spec = _KindFields({})
            allowed: dict[str, _FieldGetter] = {"metadata.name": _META_FIELDS["metadata.name"]}
            if namespaced:
                allowed["metadata.namespace"] = _META_FIELDS["metadata.namespace"]
        else:
            spec = _KIND_FIELDS.get(kind, _DEFAULT_FIELDS)
            allowed = {**_META_FIELDS, **spec.fields}
        terms: list[FieldTerm] = []
        for part in sorted(_split_unescaped(text, ",")):
            if not part:
                continue
            split = _split_term(part)
            if split is None:
                raise _bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            field_name, operator, raw_value = split
            value = _unescape(raw_value, text)
            field_name = (spec.aliases or {}).get(field_name, field_name)
            if field_name not in allowed:
                if spec.own_conversion:
                    raise _bad_request(f"field label not supported: {field_name}")
                raise _bad_request(
                    f'"{field_name}" is not a known field selector: only '
                    '"metadata.name", "metadata.namespace"'
                )
            terms.append(FieldTerm(field_name, "!=" if operator == "!=" else "=", value))
        return cls(tuple(terms), allowed)

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for term in self.terms:
            actual = self._getters[term.field](obj)
            if (actual == term.value) != (term.operator == "="):
                return False
        return True

    def exact(self, field_name: str) -> str | None:
        for term in self.terms:
            if term.field == field_name and term.operator == "=":
                return term.value
        return None

    def __str__(self) -> str:
        return ",".join(f"{t.field}{t.operator}{t.value}" for t in self.terms)

    def __repr__(self) -> str:
        return f"FieldSelector({self})"
