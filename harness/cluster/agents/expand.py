"""Kubernetes `$(VAR)` expansion, as the kubelet applies it to env values, command and args.

A port of upstream third_party/forked/golang/expansion/expand.go: `$$` escapes, undefined
references and unterminated `$(` stay as written, shell syntax (`$VAR`, `${VAR}`) passes through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

__all__ = ["expand", "expand_all", "mapping_for"]

_OPERATOR = "$"
_OPENER = "("
_CLOSER = ")"


def mapping_for(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    """MappingFuncFor: the first context holding the name wins; an unknown name maps back to
    its own `$(NAME)`, so it is left as written."""

    def mapping(name: str) -> str:
        for context in contexts:
            if name in context:
                return context[name]
        return f"{_OPERATOR}{_OPENER}{name}{_CLOSER}"

    return mapping


def _read_variable_name(text: str) -> tuple[str, bool, int]:
    """tryReadVariableName: (read, is_variable, bytes consumed after the operator)."""
    first = text[0]
    if first == _OPERATOR:
        return first, False, 1  # an escaped operator
    if first == _OPENER:
        closer = text.find(_CLOSER, 1)
        if closer != -1:
            return text[1:closer], True, closer + 1
        return _OPERATOR + _OPENER, False, 1  # incomplete: keep it, rescan what follows
    return _OPERATOR + first, False, 1  # an operator that starts no expression


def expand(text: str, mapping: Callable[[str], str]) -> str:
    """Expand every `$(NAME)` of `text` through `mapping` (Expand in expand.go)."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == _OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_variable, advance = _read_variable_name(text[cursor + 1 :])
            out.append(mapping(read) if is_variable else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def expand_all(items: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """ExpandContainerCommandAndArgs: each of command/args expanded against the container env."""
    mapping = mapping_for(env)
    return [expand(item, mapping) for item in items]
