"""User turns from the per-task templates in parameters, with code in fenced blocks.

Each task has two templates, ``with_code`` and ``without_code``; a row takes the one that fits
whether it has code, and a ``null`` template means rows of that shape are rejected (an
``explain`` example without code has nothing to explain). Templates may use ``{instruction}``
and ``{code_block}`` only; the block is the code, byte for byte, inside a Markdown fence.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from python_tutor.contracts import TASKS

PLACEHOLDERS = {"instruction", "code_block"}
VARIANTS = ("with_code", "without_code")
PARAM_ROOT = "formatting.prompts.user"


def fence(code: str, language: str) -> str:
    """``code`` in a Markdown fence longer than any backtick run inside it, so it never breaks."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{code.rstrip(chr(10))}\n{ticks}"


def check_user_templates(user: Mapping[str, Any]) -> dict[str, dict[str, str | None]]:
    """Validate the templates once, before any row, so a typo names its parameter key.

    Raises:
        ValueError: a task is missing or unknown, a placeholder is unknown, or a ``with_code``
            template drops the code (or a ``without_code`` one asks for it).
    """
    unknown = sorted(set(user) - set(TASKS))
    missing = sorted(set(TASKS) - set(user))
    if unknown or missing:
        raise ValueError(
            f"`{PARAM_ROOT}` must have exactly the tasks {list(TASKS)}: "
            f"missing {missing}, unknown {unknown}"
        )
    checked: dict[str, dict[str, str | None]] = {}
    for task in TASKS:
        spec = user[task] or {}
        checked[task] = {}
        for variant in VARIANTS:
            key = f"{PARAM_ROOT}.{task}.{variant}"
            if variant not in spec:
                raise ValueError(f"`{key}` is missing (a template, or null to reject such rows)")
            template = spec[variant]
            if template is not None:
                names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
                if names - PLACEHOLDERS:
                    raise ValueError(
                        f"`{key}` uses {sorted(names - PLACEHOLDERS)}; allowed: "
                        f"{sorted(PLACEHOLDERS)}"
                    )
                if ("code_block" in names) != (variant == "with_code"):
                    need = "must" if variant == "with_code" else "must not"
                    raise ValueError(f"`{key}` {need} contain {{code_block}}")
            checked[task][variant] = template
    return checked


def user_turn(
    templates: Mapping[str, Mapping[str, str | None]],
    task: str,
    instruction: str,
    code: str,
    language: str,
) -> str | None:
    """The user's message for one example, or None when its task has no template for it."""
    template = templates[task]["with_code" if code.strip() else "without_code"]
    if template is None:
        return None
    return template.format(instruction=instruction.strip(), code_block=fence(code, language))
