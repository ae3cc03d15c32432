"""Wrong programming terms in Spanish text, from the glossary ``terminology.yml``.

A per-text quality signal (and the benchmark's term count) that does not depend on how a
backend chooses words: it reads the glossary's wrong renderings ("lima" for file, "riña" for
argument), never the Apertium rules that avoid them. Code is not prose: text between
backticks is skipped, so ``default=`` or a fenced block never counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

GLOSSARY = Path(__file__).with_name("terminology.yml")
# Fenced blocks, then ``double`` and `single` backtick spans (docstrings use both).
_CODE = re.compile(r"```[\s\S]*?```|``[^\n]+?``|`[^`\n]+`")


@dataclass(frozen=True)
class Term:
    """One glossary row: the English term, the Spanish to use, the renderings to flag."""

    en: str
    es: str
    wrong: tuple[str, ...]


def load_glossary(path: Path = GLOSSARY) -> list[Term]:
    """The glossary rows; a row without en, es or a wrong list is an error naming it."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    terms = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not {"en", "es", "wrong"} <= row.keys():
            raise ValueError(f"{path}: row {number} needs en, es and wrong; got {row!r}")
        if not all(isinstance(row[k], str) for k in ("en", "es")) or not isinstance(
            row["wrong"], list
        ):
            raise ValueError(
                f"{path}: row {number} ({row['en']!r}): en and es must be text (quote "
                "yes/no/true words), wrong a list"
            )
        terms.append(Term(row["en"], row["es"], tuple(row["wrong"])))
    return terms


@cache
def _pattern(path: Path) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex over every wrong rendering (longest first, whole words) and its term."""
    owner = {w.lower(): t.en for t in load_glossary(path) for w in t.wrong}
    alternatives = "|".join(re.escape(w) for w in sorted(owner, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), owner


def wrong_terms(text_es: str, path: Path = GLOSSARY) -> list[str]:
    """Each wrong rendering in the prose of ``text_es``, as ``"term: rendering"``, in order."""
    pattern, owner = _pattern(path)
    prose = _CODE.sub(" ", text_es)
    return [f"{owner[m.group(0).lower()]}: {m.group(0)}" for m in pattern.finditer(prose)]
