"""Terraform read for the topology: python-hcl2's output and a small evaluator of the HCL
expressions the topology needs (see harness/topology.py for what is supported).

Internal to harness.topology; nothing here is public API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

from harness.errors import ConfigurationError


def _display(path: Path, root: Path) -> str:
    """A path as the user knows it: relative to the repository (root's parent) when inside."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------
# HCL expressions: python-hcl2 hands us source text; this parses the subset we evaluate.
# ---------------------------------------------------------------------------------------


class _Unresolved(Exception):
    """An expression needs something the harness cannot know (an apply-time attribute...)."""


class _HclSyntaxError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Literal:
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class _Template:
    parts: tuple[str | _Expr, ...]


@dataclass(frozen=True, slots=True)
class _ListExpr:
    items: tuple[_Expr, ...]


@dataclass(frozen=True, slots=True)
class _ObjectExpr:
    items: tuple[tuple[str, _Expr], ...]


@dataclass(frozen=True, slots=True)
class _Name:
    name: str


@dataclass(frozen=True, slots=True)
class _GetAttr:
    name: str


@dataclass(frozen=True, slots=True)
class _GetIndex:
    key: _Expr


@dataclass(frozen=True, slots=True)
class _Splat:
    pass


_Step: TypeAlias = _GetAttr | _GetIndex | _Splat


@dataclass(frozen=True, slots=True)
class _Traversal:
    base: _Expr
    steps: tuple[_Step, ...]


@dataclass(frozen=True, slots=True)
class _Call:
    function: str
    args: tuple[_Expr, ...]


@dataclass(frozen=True, slots=True)
class _Operation:
    operator: str
    operands: tuple[_Expr, ...]


@dataclass(frozen=True, slots=True)
class _Conditional:
    condition: _Expr
    when_true: _Expr
    when_false: _Expr


@dataclass(frozen=True, slots=True)
class _Opaque:
    """Source the parser does not cover (for expressions, directives): unresolvable."""

    text: str


_Expr: TypeAlias = (
    _Literal
    | _Template
    | _ListExpr
    | _ObjectExpr
    | _Name
    | _Traversal
    | _Call
    | _Operation
    | _Conditional
    | _Opaque
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|\[\*\]|\.\*|[-+*/%<>!?:=.,()\[\]{}])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["number", "ident", "op", "string", "end"]
    text: str
    template: _Template | None = None


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        if source[position] == '"':
            template, position = _scan_template(source, position + 1)
            tokens.append(_Token("string", "", template))
            continue
        match = _TOKEN.match(source, position)
        if match is None:
            raise _HclSyntaxError(f"unexpected {source[position]!r} in {source!r}")
        position = match.end()
        kind = match.lastgroup
        if kind == "number":
            tokens.append(_Token("number", match.group()))
        elif kind == "ident":
            tokens.append(_Token("ident", match.group()))
        elif kind == "op":
            tokens.append(_Token("op", match.group()))
    tokens.append(_Token("end", ""))
    return tokens


def _scan_template(source: str, position: int) -> tuple[_Template, int]:
    """Scan a quoted template after its opening quote; return it and the index past it."""
    parts: list[str | _Expr] = []
    literal: list[str] = []
    while position < len(source):
        char = source[position]
        if char == '"':
            if literal:
                parts.append("".join(literal))
            return _Template(tuple(parts)), position + 1
        if char == "\\" and position + 1 < len(source):
            escaped = source[position + 1]
            literal.append(_ESCAPES.get(escaped, "\\" + escaped))
            position += 2
        elif source.startswith("$${", position) or source.startswith("%%{", position):
            literal.append(source[position + 1 : position + 3])
            position += 3
        elif source.startswith("%{", position):
            raise _HclSyntaxError("template directives (%{...}) are not evaluated")
        elif source.startswith("${", position):
            end = _closing_brace(source, position + 2)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_parse_expression(source[position + 2 : end].strip("~ \t\n")))
            position = end + 1
        else:
            literal.append(char)
            position += 1
    raise _HclSyntaxError(f"unterminated string in {source!r}")


def _closing_brace(source: str, position: int) -> int:
    depth = 0
    while position < len(source):
        char = source[position]
        if char == '"':
            _, position = _scan_template(source, position + 1)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return position
            depth -= 1
        position += 1
    raise _HclSyntaxError(f"unterminated interpolation in {source!r}")


_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", ">", "<=", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)


class _ExpressionParser:
    """Recursive descent over HCL's expression grammar, without for expressions."""

    def __init__(self, source: str) -> None:
        self._tokens = _tokenize(source)
        self._index = 0

    def parse(self) -> _Expr:
        expression = self._conditional()
        if self._peek().kind != "end":
            raise _HclSyntaxError(f"unexpected {self._peek().text!r}")
        return expression

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _accept(self, text: str) -> bool:
        token = self._peek()
        if token.kind == "op" and token.text == text:
            self._index += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        if not self._accept(text):
            raise _HclSyntaxError(f"expected {text!r}, found {self._peek().text!r}")

    def _conditional(self) -> _Expr:
        condition = self._binary(0)
        if not self._accept("?"):
            return condition
        when_true = self._conditional()
        self._expect(":")
        return _Conditional(condition, when_true, self._conditional())

    def _binary(self, level: int) -> _Expr:
        if level == len(_BINARY_LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek().kind == "op" and self._peek().text in _BINARY_LEVELS[level]:
            operator = self._next().text
            left = _Operation(operator, (left, self._binary(level + 1)))
        return left

    def _unary(self) -> _Expr:
        if self._peek().kind == "op" and self._peek().text in ("!", "-"):
            operator = self._next().text
            return _Operation("neg" if operator == "-" else "!", (self._unary(),))
        return self._postfix(self._primary())

    def _postfix(self, base: _Expr) -> _Expr:
        steps: list[_Step] = []
        while True:
            token = self._peek()
            if token.kind == "op" and token.text in ("[*]", ".*"):
                self._next()
                steps.append(_Splat())
            elif token.kind == "op" and token.text == ".":
                self._next()
                name = self._next()
                if name.kind == "ident":
                    steps.append(_GetAttr(name.text))
                elif name.kind == "number":  # legacy index syntax: list.0
                    steps.append(_GetIndex(_Literal(int(name.text))))
                else:
                    raise _HclSyntaxError(f"expected a name after '.', found {name.text!r}")
            elif token.kind == "op" and token.text == "[":
                self._next()
                steps.append(_GetIndex(self._conditional()))
                self._expect("]")
            else:
                break
        return _Traversal(base, tuple(steps)) if steps else base

    def _primary(self) -> _Expr:
        token = self._next()
        if token.kind == "number":
            number = float(token.text)
            return _Literal(
                int(number) if number.is_integer() and "." not in token.text else number
            )
        if token.kind == "string":
            assert token.template is not None
            return token.template
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return _Literal(token.text == "true")
            if token.text == "null":
                return _Literal(None)
            if self._accept("("):
                return _Call(token.text, self._arguments())
            return _Name(token.text)
        if token.kind == "op" and token.text == "(":
            inner = self._conditional()
            self._expect(")")
            return inner
        if token.kind == "op" and token.text == "[":
            return _ListExpr(self._list_items())
        if token.kind == "op" and token.text == "{":
            return _ObjectExpr(self._object_items())
        raise _HclSyntaxError(f"unexpected {token.text or 'end of expression'!r}")

    def _arguments(self) -> tuple[_Expr, ...]:
        args: list[_Expr] = []
        while not self._accept(")"):
            args.append(self._conditional())
            if not self._accept(","):
                self._accept("...")
                self._expect(")")
                break
        return tuple(args)

    def _list_items(self) -> tuple[_Expr, ...]:
        if self._peek().kind == "ident" and self._peek().text == "for":
            raise _HclSyntaxError("for expressions are not evaluated")
        items: list[_Expr] = []
        while not self._accept("]"):
            items.append(self._conditional())
            if not self._accept(","):
                self._expect("]")
                break
        return tuple(items)

    def _object_items(self) -> tuple[tuple[str, _Expr], ...]:
        if self._peek().kind == "ident" and self._peek().text == "for":
            raise _HclSyntaxError("for expressions are not evaluated")
        items: list[tuple[str, _Expr]] = []
        while not self._accept("}"):
            key = self._next()
            if key.kind == "ident":
                name = key.text
            elif key.kind == "string" and key.template is not None:
                name = "".join(p for p in key.template.parts if isinstance(p, str))
            else:
                raise _HclSyntaxError(f"unexpected object key {key.text!r}")
            if not (self._accept("=") or self._accept(":")):
                raise _HclSyntaxError(f"expected '=' after object key {name!r}")
            items.append((name, self._conditional()))
            self._accept(",")
        return tuple(items)


def _parse_expression(source: str) -> _Expr:
    return _ExpressionParser(source).parse()


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


# python-hcl2 is untyped at heart: this is the one place its output (Any) is looked at.
def _expression_of(raw: object) -> _Expr:
    """Turn one python-hcl2 8.x attribute value into an expression."""
    if raw is None or isinstance(raw, bool | int | float):
        return _Literal(raw)
    if isinstance(raw, list):
        return _ListExpr(tuple(_expression_of(item) for item in raw))
    if isinstance(raw, dict):
        return _ObjectExpr(
            tuple((_unquote(str(k)), _expression_of(v)) for k, v in raw.items() if not _meta(k))
        )
    text = str(raw)
    try:
        if text.startswith("${") and text.endswith("}"):
            return _parse_expression(text[2:-1])
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return _parse_expression(text)
    except _HclSyntaxError:
        return _Opaque(text)
    return _Literal(text)  # bare words (ignore_changes items) and heredocs


def _meta(key: object) -> bool:
    return isinstance(key, str) and key.startswith("__") and key.endswith("__")


# ---------------------------------------------------------------------------------------
# Terraform blocks and their evaluation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Block:
    """One HCL block: ``resource "aws_s3_bucket" "uploads" { ... }`` and its nested blocks."""

    kind: str
    labels: tuple[str, ...]
    file: str  # as displayed in messages
    attributes: dict[str, _Expr] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, tuple[_Block, ...]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        if self.kind == "resource":
            return ".".join(self.labels)
        if self.kind == "variable":
            return f"var.{self.labels[0]}"
        return ".".join((self.kind, *self.labels))

    def nested(self, name: str) -> tuple[_Block, ...]:
        return self.blocks.get(name, ())


def _body_of(kind: str, labels: tuple[str, ...], file: str, raw: object) -> _Block:
    block = _Block(kind, labels, file)
    if not isinstance(raw, dict):
        return block
    for key, value in raw.items():
        if _meta(key):
            continue
        name = _unquote(str(key))
        if isinstance(value, list) and value and all(_is_block(v) for v in value):
            block.blocks[name] = tuple(_body_of(name, (), file, v) for v in value)
        elif _is_labelled_block(value):
            # Blocks with a label (backend "s3" { ... }) nest one level deeper.
            assert isinstance(value, list)
            block.blocks[name] = tuple(
                _body_of(name, (_unquote(str(label)),), file, body)
                for item in value
                for label, body in item.items()
            )
        else:
            block.attributes[name] = _expression_of(value)
            block.sources[name] = str(value)
    return block


def _is_block(value: object) -> bool:
    return isinstance(value, dict) and value.get("__is_block__") is True


def _is_labelled_block(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, dict) and item and all(_is_block(v) for v in item.values())
            for item in value
        )
    )


def _blocks_of(document: object, file: str) -> Iterator[_Block]:
    """Every top-level block of one parsed .tf file, labels unquoted."""
    if not isinstance(document, dict):
        return
    for kind, entries in document.items():
        if _meta(kind) or not isinstance(entries, list):
            continue
        for entry in entries:
            if kind in ("locals", "terraform"):
                yield _body_of(kind, (), file, entry)
                continue
            yield from _labelled(kind, (), file, entry, 2 if kind in ("resource", "data") else 1)


def _labelled(
    kind: str, labels: tuple[str, ...], file: str, raw: object, depth: int
) -> Iterator[_Block]:
    if depth == 0 or not isinstance(raw, dict):
        yield _body_of(kind, labels, file, raw)
        return
    for label, inner in raw.items():
        if not _meta(label):
            yield from _labelled(kind, (*labels, _unquote(str(label))), file, inner, depth - 1)


_Value: TypeAlias = "str | int | float | bool | list[_Value] | dict[str, _Value] | _Ref | None"


@dataclass(frozen=True, slots=True)
class _Ref:
    """A reference to a resource (instance) attribute: known only after apply."""

    address: str
    key: int | str | None = None
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Instance:
    """One instance of a block under count or for_each; key None without either."""

    key: int | str | None = None
    each_value: _Value = None


_NO_INSTANCE = _Instance()
_ZONE_LETTERS = "abcdef"


def _parse_tf(path: Path, display: str) -> object:
    import hcl2  # python-hcl2 (lark) is slow to import and only needed here

    if not hasattr(hcl2, "SerializationOptions"):
        raise ConfigurationError(
            f"{display}: python-hcl2 8.x is needed to read Terraform (its output keeps HCL "
            "quoting, which the harness relies on); upgrade with: pip install 'python-hcl2>=8,<9'"
        )
    options = hcl2.SerializationOptions(with_comments=False)
    text = path.read_text(encoding="utf-8")
    try:
        return hcl2.loads(text, serialization_options=options)
    except Exception as exc:  # lark's UnexpectedInput family, and any hcl2 internal error
        line = getattr(exc, "line", None)
        column = getattr(exc, "column", None)
        where = f"{display}:{line}:{column}" if isinstance(line, int) and line > 0 else display
        block = _enclosing_block(text, line if isinstance(line, int) else None)
        token = getattr(exc, "token", None) or getattr(exc, "char", None)
        if token is None:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            problem = (
                f"unexpected {str(token).strip()!r}"
                if str(token).strip()
                else "unexpected end of line"
            )
        raise ConfigurationError(f"{where}: {block}: HCL syntax error: {problem}") from exc


_BLOCK_HEADER = re.compile(
    r"^(resource|data|module|variable|output|provider|locals|terraform)\b"
    r'((?:\s+"[^"]*")*)\s*\{'
)


def _enclosing_block(text: str, line: int | None) -> str:
    """The address of the top-level block a syntax error sits in, found by its header."""
    lines = text.splitlines()
    last = min(line, len(lines)) if line else len(lines)
    for number in range(last - 1, -1, -1):
        header = _BLOCK_HEADER.match(lines[number])
        if header:
            labels = re.findall(r'"([^"]*)"', header.group(2))
            kind = header.group(1)
            if kind == "resource":
                return ".".join(labels)
            if kind == "variable" and labels:
                return f"var.{labels[0]}"
            return ".".join((kind, *labels))
    return "top level"


class _TerraformModule:
    """One environment's Terraform directory: its blocks and an evaluator over them."""

    def __init__(self, directory: str, blocks: Sequence[_Block]) -> None:
        self.directory = directory
        self.blocks = tuple(blocks)
        self.warnings: list[str] = []
        self.resources: dict[str, _Block] = {}
        self.variables: dict[str, _Block] = {}
        self.locals: dict[str, tuple[_Expr, _Block]] = {}
        for block in self.blocks:
            if block.kind == "resource" and len(block.labels) == 2:
                self.resources[block.address] = block
            elif block.kind == "variable" and block.labels:
                self.variables[block.labels[0]] = block
            elif block.kind == "locals":
                for name, expression in block.attributes.items():
                    self.locals[name] = (expression, block)
            elif block.kind == "module":
                self.warnings.append(
                    f"{block.file}: {block.address}: modules are not expanded; the harness "
                    "reads plain aws_* resources only"
                )
        self._local_values: dict[str, _Value] = {}
        self._resolving: set[str] = set()
        self.region = self._region()

    @classmethod
    def read(cls, directory: Path, root: Path) -> _TerraformModule:
        files = sorted(directory.glob("*.tf"))
        if not files:
            raise ConfigurationError(f"{_display(directory, root)}: no .tf files")
        blocks: list[_Block] = []
        for path in files:
            display = _display(path, root)
            blocks.extend(_blocks_of(_parse_tf(path, display), display))
        return cls(_display(directory, root), blocks)

    def _region(self) -> str:
        for block in self.blocks:
            if block.kind == "provider" and block.labels == ("aws",):
                if "alias" in block.attributes or "region" not in block.attributes:
                    continue
                return self.string(block, "region")
        if "region" in self.variables:
            block = self.variables["region"]
            if "default" in block.attributes:
                return self.string(block, "default")
        raise ConfigurationError(
            f"{self.directory}: provider.aws: no region; set region in the aws provider block"
        )

    # -- lookups -------------------------------------------------------------------------

    def of_type(self, *resource_types: str) -> list[_Block]:
        return [b for b in self.blocks if b.kind == "resource" and b.labels[0] in resource_types]

    def instances(self, block: _Block) -> list[_Instance]:
        if "count" in block.attributes:
            count = self.evaluate(block, "count")
            if not isinstance(count, int) or isinstance(count, bool):
                raise self.error(block, f"count = {block.sources['count']} is not a number")
            return [_Instance(index) for index in range(count)]
        if "for_each" in block.attributes:
            each = self.evaluate(block, "for_each")
            if isinstance(each, dict):
                return [_Instance(key, value) for key, value in each.items()]
            if isinstance(each, list) and all(isinstance(item, str) for item in each):
                return [_Instance(str(item), item) for item in each]
            raise self.error(block, f"for_each = {block.sources['for_each']} is not a set or map")
        return [_Instance()]

    def error(self, block: _Block, message: str) -> ConfigurationError:
        return ConfigurationError(f"{block.file}: {block.address}: {message}")

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self, block: _Block, attribute: str, instance: _Instance = _NO_INSTANCE) -> _Value:
        """The value of one attribute; a ConfigurationError when it cannot be known."""
        try:
            return self.value(block.attributes[attribute], instance)
        except _Unresolved as exc:
            source = block.sources.get(attribute, "")
            raise self.error(
                block, f"{attribute} = {source}: cannot be resolved locally: {exc}"
            ) from None

    def string(self, block: _Block, attribute: str, instance: _Instance = _NO_INSTANCE) -> str:
        value = self.evaluate(block, attribute, instance)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(block, f"{attribute} = {block.sources[attribute]} is not a string")
        return str(value)

    def optional(
        self, block: _Block, attribute: str, default: _Value, instance: _Instance = _NO_INSTANCE
    ) -> _Value:
        if attribute not in block.attributes:
            return default
        return self.evaluate(block, attribute, instance)

    def value(self, expression: _Expr, instance: _Instance) -> _Value:
        match expression:
            case _Literal(value):
                return value
            case _Template(parts):
                return self._template(parts, instance)
            case _ListExpr(items):
                return [self.value(item, instance) for item in items]
            case _ObjectExpr(items):
                return {key: self.value(item, instance) for key, item in items}
            case _Name(name):
                return self._root(name, (), instance)
            case _Traversal(base, steps):
                return self._traversal(base, steps, instance)
            case _Call(function, args):
                return _call(function, [self.value(a, instance) for a in args])
            case _Operation(operator, operands):
                return _operate(operator, [self.value(o, instance) for o in operands])
            case _Conditional(condition, when_true, when_false):
                chosen = when_true if self.value(condition, instance) is True else when_false
                return self.value(chosen, instance)
            case _Opaque(text):
                raise _Unresolved(f"{text} is beyond the expressions the harness evaluates")
        raise _Unresolved(f"unknown expression {expression!r}")

    def _template(self, parts: tuple[str | _Expr, ...], instance: _Instance) -> _Value:
        if len(parts) == 1 and not isinstance(parts[0], str):
            return self.value(parts[0], instance)  # "${x}" is x itself, as in Terraform
        pieces: list[str] = []
        for part in parts:
            value = part if isinstance(part, str) else self.value(part, instance)
            if isinstance(value, _Ref):
                raise _Unresolved(f"{_describe(value)} is known only after apply")
            if isinstance(value, bool):
                pieces.append("true" if value else "false")
            elif isinstance(value, str | int | float):
                pieces.append(str(value))
            else:
                raise _Unresolved(f"cannot interpolate {value!r} into a string")
        return "".join(pieces)

    def _traversal(self, base: _Expr, steps: tuple[_Step, ...], instance: _Instance) -> _Value:
        if isinstance(base, _Name):
            return self._root(base.name, steps, instance)
        return self._apply_steps(self.value(base, instance), steps, instance)

    def _root(self, name: str, steps: tuple[_Step, ...], instance: _Instance) -> _Value:
        first = steps[0].name if steps and isinstance(steps[0], _GetAttr) else None
        rest = steps[1:]
        if name == "var" and first:
            return self._apply_steps(self._variable(first), rest, instance)
        if name == "local" and first:
            return self._apply_steps(self._local(first), rest, instance)
        if name == "count" and first == "index":
            if not isinstance(instance.key, int):
                raise _Unresolved("count.index outside a counted block")
            return self._apply_steps(instance.key, rest, instance)
        if name == "each" and first in ("key", "value"):
            if instance.key is None:
                raise _Unresolved("each outside a for_each block")
            value = instance.key if first == "key" else instance.each_value
            return self._apply_steps(value, rest, instance)
        if name == "data":
            return self._data(steps, instance)
        if first and f"{name}.{first}" in self.resources:
            return self._apply_steps(_Ref(f"{name}.{first}"), rest, instance)
        if first and "_" in name and name not in ("path", "module", "terraform", "self"):
            raise _Unresolved(f"{name}.{first} is not declared in {self.directory}")
        raise _Unresolved(f"{name}{'.' + first if first else ''} is not evaluated")

    def _variable(self, name: str) -> _Value:
        block = self.variables.get(name)
        if block is None:
            raise _Unresolved(f"variable {name!r} is not declared")
        if "default" not in block.attributes:
            raise _Unresolved(f"variable {name!r} has no default (the harness reads defaults)")
        return self.value(block.attributes["default"], _NO_INSTANCE)

    def _local(self, name: str) -> _Value:
        if name in self._local_values:
            return self._local_values[name]
        if name not in self.locals:
            raise _Unresolved(f"local {name!r} is not declared")
        if name in self._resolving:
            raise _Unresolved(f"local {name!r} refers to itself")
        self._resolving.add(name)
        try:
            value = self.value(self.locals[name][0], _NO_INSTANCE)
        finally:
            self._resolving.discard(name)
        self._local_values[name] = value
        return value

    def _data(self, steps: tuple[_Step, ...], instance: _Instance) -> _Value:
        names = [s.name for s in steps[:3] if isinstance(s, _GetAttr)]
        rest = steps[3:]
        if len(names) == 3 and names[0] == "aws_availability_zones" and names[2] == "names":
            zones: _Value = [f"{self.region}{letter}" for letter in _ZONE_LETTERS]
            return self._apply_steps(zones, rest, instance)
        if len(names) == 3 and names[0] == "aws_region" and names[2] in ("name", "region"):
            return self._apply_steps(self.region, rest, instance)
        raise _Unresolved(f"data.{'.'.join(names)} is not evaluated")

    def _apply_steps(self, value: _Value, steps: Sequence[_Step], instance: _Instance) -> _Value:
        for position, step in enumerate(steps):
            if isinstance(step, _Splat):
                items = self._splat(value)
                return [self._apply_steps(item, steps[position + 1 :], instance) for item in items]
            if isinstance(step, _GetAttr) and isinstance(value, _Ref):
                value = _Ref(value.address, value.key, (*value.attributes, step.name))
            elif isinstance(step, _GetAttr):
                value = _get(value, step.name)
            else:
                value = _get(value, self.value(step.key, instance))
        return value

    def _splat(self, value: _Value) -> list[_Value]:
        if isinstance(value, _Ref) and value.key is None and not value.attributes:
            keys = [i.key for i in self.instances(self.resources[value.address])]
            return [_Ref(value.address, key) for key in keys]
        if isinstance(value, list):
            return value
        return [] if value is None else [value]

    def instance_of(self, ref: _Ref) -> tuple[_Block, _Instance]:
        block = self.resources[ref.address]
        for instance in self.instances(block):
            if instance.key == ref.key:
                return block, instance
        raise self.error(block, f"has no instance [{ref.key!r}]")


def _get(value: _Value, key: _Value) -> _Value:
    if isinstance(value, _Ref):
        indexable = value.key is None and not value.attributes
        if indexable and isinstance(key, int | str) and not isinstance(key, bool):
            return _Ref(value.address, key)
        if isinstance(key, str):
            return _Ref(value.address, value.key, (*value.attributes, key))
        raise _Unresolved(f"{_describe(value)}[{key!r}] is known only after apply")
    if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
        if not -len(value) <= key < len(value):
            raise _Unresolved(f"index {key} is out of range for a list of {len(value)}")
        return value[key]
    if isinstance(value, dict) and isinstance(key, str):
        if key not in value:
            raise _Unresolved(f"no key {key!r}")
        return value[key]
    raise _Unresolved(f"cannot index {value!r} with {key!r}")


def _describe(ref: _Ref) -> str:
    key = "" if ref.key is None else f"[{ref.key!r}]"
    return ref.address + key + "".join(f".{a}" for a in ref.attributes)


def _as_str(value: _Value, what: str) -> str:
    if isinstance(value, str):
        return value
    raise _Unresolved(f"{what} is not a string: {value!r}")


def _as_int(value: _Value, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise _Unresolved(f"{what} is not a whole number: {value!r}")


def _as_list(value: _Value, what: str) -> list[_Value]:
    if isinstance(value, list):
        return value
    raise _Unresolved(f"{what} is not a list: {value!r}")


def _known(values: Iterable[_Value]) -> None:
    for value in values:
        if isinstance(value, _Ref):
            raise _Unresolved(f"{_describe(value)} is known only after apply")


def _unique(values: list[_Value]) -> list[_Value]:
    seen: list[_Value] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _format(template: str, *args: _Value) -> str:
    _known(args)
    return re.sub(r"%[vdsq]", "%s", template) % tuple(args)


_FUNCTIONS: dict[str, Callable[..., _Value]] = {
    "slice": lambda items, start, end: _as_list(items, "slice()")[
        _as_int(start, "slice() start") : _as_int(end, "slice() end")
    ],
    "length": lambda items: len(items) if isinstance(items, list | dict | str) else 0,
    "concat": lambda *lists: [item for items in lists for item in _as_list(items, "concat()")],
    "element": lambda items, index: _as_list(items, "element()")[
        _as_int(index, "element() index") % len(_as_list(items, "element()"))
    ],
    "toset": lambda items: _unique(_as_list(items, "toset()")),
    "tolist": lambda items: _as_list(items, "tolist()"),
    "tostring": lambda value: _format("%s", value),
    "tonumber": lambda value: _as_int(value, "tonumber()"),
    "lower": lambda value: _as_str(value, "lower()").lower(),
    "upper": lambda value: _as_str(value, "upper()").upper(),
    "format": lambda template, *args: _format(_as_str(template, "format()"), *args),
    "join": lambda separator, items: _as_str(separator, "join()").join(
        _as_str(item, "join() item") for item in _as_list(items, "join()")
    ),
    "min": lambda *values: min(_as_int(v, "min()") for v in values),
    "max": lambda *values: max(_as_int(v, "max()") for v in values),
    "coalesce": lambda *values: next((v for v in values if v not in (None, "")), None),
}


def _call(function: str, args: list[_Value]) -> _Value:
    implementation = _FUNCTIONS.get(function)
    if implementation is None:
        raise _Unresolved(f"function {function}() is not evaluated by the harness")
    _known(args)
    try:
        return implementation(*args)
    except (TypeError, ValueError, IndexError, ZeroDivisionError) as exc:
        raise _Unresolved(f"{function}(): {exc}") from exc


def _operate(operator: str, operands: list[_Value]) -> _Value:
    _known(operands)
    if operator == "!":
        return not operands[0]
    if operator == "neg":
        return -_as_int(operands[0], "operand of -")
    left, right = operands
    if operator == "==":
        return left == right
    if operator == "!=":
        return left != right
    if operator == "&&":
        return bool(left) and bool(right)
    if operator == "||":
        return bool(left) or bool(right)
    if not isinstance(left, int | float) or not isinstance(right, int | float):
        raise _Unresolved(f"{operator} needs numbers, not {left!r} and {right!r}")
    arithmetic: dict[str, Callable[[float, float], _Value]] = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "%": lambda a, b: a % b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }
    try:
        return arithmetic[operator](left, right)
    except ZeroDivisionError as exc:
        raise _Unresolved(f"division by zero in {left!r} {operator} {right!r}") from exc


def _references(expression: _Expr) -> Iterator[str]:
    """Addresses of the resources an expression mentions (``aws_kms_key.data``), by syntax."""
    match expression:
        case _Traversal(_Name(name), steps) if steps and isinstance(steps[0], _GetAttr):
            if name not in ("var", "local", "count", "each", "data", "module", "path"):
                yield f"{name}.{steps[0].name}"
            for step in steps:
                if isinstance(step, _GetIndex):
                    yield from _references(step.key)
        case _Traversal(base, steps):
            yield from _references(base)
            for step in steps:
                if isinstance(step, _GetIndex):
                    yield from _references(step.key)
        case _Template(parts):
            for part in parts:
                if not isinstance(part, str):
                    yield from _references(part)
        case _ListExpr(items) | _Call(_, items) | _Operation(_, items):
            for item in items:
                yield from _references(item)
        case _ObjectExpr(pairs):
            for _, item in pairs:
                yield from _references(item)
        case _Conditional(condition, when_true, when_false):
            for item in (condition, when_true, when_false):
                yield from _references(item)


def _mentions(block: _Block, attribute: str, address: str) -> bool:
    expression = block.attributes.get(attribute)
    return expression is not None and address in set(_references(expression))


def _mentions_type(block: _Block, attribute: str, resource_type: str) -> list[str]:
    expression = block.attributes.get(attribute)
    if expression is None:
        return []
    return [a for a in _references(expression) if a.startswith(resource_type + ".")]
