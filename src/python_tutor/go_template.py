"""Render the subset of Go's text/template that Ollama chat TEMPLATEs use, so the GGUF is
prompted exactly as ``ollama run`` would prompt it from the Modelfile.

Supported: text, ``{{ .Field }}`` (``$.Field`` for the top level), ``{{ if X }}`` with
``{{ else }}``, ``{{ range .Messages }}``, ``{{ end }}``, conditions ``.Field`` (non-empty)
and ``eq .Field "literal"``, and the ``{{-``/``-}}`` whitespace trims. Anything else raises
``ValueError`` naming the action, rather than rendering a different prompt silently.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.DOTALL)


@dataclass
class _Block:
    """An ``if`` or ``range`` (or the whole template): its words and its two bodies."""

    words: list[str]
    body: list[Any] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)
    in_else: bool = False

    def add(self, item: Any) -> None:
        (self.otherwise if self.in_else else self.body).append(item)


def _lex(template: str) -> list[tuple[str, str]]:
    """Text and action pieces, with the trim markers already applied to the text."""
    pieces: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(template):
        text = template[position : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        pieces.append(("text", text))
        pieces.append(("action", match.group(2)))
        trim_next = bool(match.group(3))
        position = match.end()
    tail = template[position:]
    pieces.append(("text", tail.lstrip() if trim_next else tail))
    return pieces


def _parse(template: str) -> _Block:
    root = _Block(words=["root"])
    stack = [root]
    for kind, value in _lex(template):
        if kind == "text":
            if value:
                stack[-1].add(value)
            continue
        words = shlex.split(value, posix=True) if value else []
        head = words[0] if words else ""
        if head in ("if", "range"):
            block = _Block(words=words)
            stack[-1].add(block)
            stack.append(block)
        elif head == "else" and len(words) == 1 and stack[-1].words[0] == "if":
            stack[-1].in_else = True
        elif head == "end" and len(stack) > 1:
            stack.pop()
        elif len(words) == 1 and head.startswith((".", "$.")):
            stack[-1].add(("field", head))
        else:
            raise ValueError(f"Unsupported Ollama template action {{{{ {value} }}}}")
    if len(stack) != 1:
        raise ValueError(f"Ollama template has an unclosed {{{{ {' '.join(stack[-1].words)} }}}}")
    return root


def _lookup(name: str, dot: Mapping[str, Any], top: Mapping[str, Any]) -> Any:
    scope, key = (top, name[2:]) if name.startswith("$.") else (dot, name[1:])
    if key not in scope:
        raise ValueError(f"Ollama template field {name} is not available (have {sorted(scope)})")
    return scope[key]


def _condition(words: Sequence[str], dot: Mapping[str, Any], top: Mapping[str, Any]) -> bool:
    if len(words) == 1:
        return bool(_lookup(words[0], dot, top))
    if len(words) == 3 and words[0] == "eq":  # noqa: PLR2004 - eq A B
        values = [w if not w.startswith((".", "$.")) else _lookup(w, dot, top) for w in words[1:]]
        return values[0] == values[1]
    raise ValueError(f"Unsupported Ollama template condition {' '.join(words)!r}")


def _render(items: list[Any], dot: Mapping[str, Any], top: Mapping[str, Any]) -> str:
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, tuple):
            out.append(str(_lookup(item[1], dot, top)))
        elif item.words[0] == "if":
            branch = item.body if _condition(item.words[1:], dot, top) else item.otherwise
            out.append(_render(branch, dot, top))
        else:  # range
            if len(item.words) != 2:  # noqa: PLR2004 - range .X
                raise ValueError(f"Unsupported Ollama range {' '.join(item.words)!r}")
            elements = _lookup(item.words[1], dot, top) or []
            out.extend(_render(item.body, element, top) for element in elements)
    return "".join(out)


def render_ollama_template(
    template: str, system: str, messages: Sequence[Mapping[str, str]]
) -> str:
    """The prompt Ollama builds for a chat request: ``messages`` are user/assistant turns.

    ``.Prompt`` is the last user turn (older, non-chat templates use it).
    """
    turns = [{"Role": m["role"], "Content": m["content"]} for m in messages]
    users = [turn["Content"] for turn in turns if turn["Role"] == "user"]
    top = {
        "System": system,
        "Messages": turns,
        "Prompt": users[-1] if users else "",
        "Response": "",
    }
    return _render(_parse(template).body, top, top)
