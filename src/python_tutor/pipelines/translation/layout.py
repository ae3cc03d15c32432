"""Reflow hard-wrapped paragraphs before translation, wrap them again after.

Docstrings and mailing-list answers are wrapped at 72-79 columns, so a sentence spans lines;
translated line by line it comes back as broken halves ("Return the" / "file name." ->
"Regreso el" / "nombre de archivo."). ``reflow`` joins each wrapped paragraph of the masked
text onto one line (list items, ``Args:`` entries, headers and code placeholders keep their
own lines), and ``Layout.restore`` wraps the translated line again with the paragraph's
indentation and width, so the layout survives while the sentences are whole.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

LETTER = re.compile(r"[^\W\d_]")
NEW_ITEM = re.compile(
    r"^\s*(?:[-*+•]\s|\d+[.)]\s|#|>|\||[-=~^]{3,}\s*$|\.\.\s|:\w+:|"  # lists, headers, reST
    r"[\w.*]+(?:\s*\([^)]*\))?\s*:(?:\s|$))"  # Google-style ``name (type): text``, ``Returns:``
)


@dataclass(frozen=True, slots=True)
class _Paragraph:
    """Where one joined line came from: how many lines, their indentation and width."""

    lines: int
    first_indent: str
    next_indent: str
    width: int


class LayoutError(ValueError):
    """The translation came back with another number of lines than was sent."""


@dataclass(frozen=True, slots=True)
class Layout:
    """One entry per line of the reflowed text: a paragraph to wrap again, or None."""

    units: tuple[_Paragraph | None, ...]

    def restore(self, text: str) -> str:
        """Wrap every joined paragraph of the (translated) text as its original was."""
        lines = text.split("\n")
        if len(lines) != len(self.units):
            raise LayoutError(
                f"translation has {len(lines)} lines where {len(self.units)} were sent"
            )
        out = []
        for line, unit in zip(lines, self.units, strict=True):
            if unit is None:
                out.append(line)
                continue
            out.append(
                textwrap.fill(
                    line.strip(),
                    width=unit.width,
                    initial_indent=unit.first_indent,
                    subsequent_indent=unit.next_indent,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
        return "\n".join(out)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _prose(line: str, placeholder: re.Pattern[str]) -> bool:
    """A line with words to translate (not blank, not only placeholders or punctuation)."""
    return bool(LETTER.search(placeholder.sub(" ", line)))


def _continues(previous: str, line: str, first_indent: str, placeholder: re.Pattern[str]) -> bool:
    """True when ``line`` is the wrapped continuation of the paragraph ending in ``previous``."""
    if not _prose(line, placeholder) or NEW_ITEM.match(line):
        return False
    if previous.endswith(("  ", "\\", ":")) or placeholder.fullmatch(previous.strip()):
        return False
    return len(_indent(line)) >= len(first_indent)


def reflow(text: str, placeholder: re.Pattern[str]) -> tuple[str, Layout]:
    """Join wrapped paragraphs onto single lines; the Layout wraps them back."""
    lines = text.split("\n")
    out: list[str] = []
    units: list[_Paragraph | None] = []
    index = 0
    while index < len(lines):
        first = lines[index]
        block = [first]
        if _prose(first, placeholder):
            while index + len(block) < len(lines) and _continues(
                block[-1], lines[index + len(block)], _indent(first), placeholder
            ):
                block.append(lines[index + len(block)])
        if len(block) == 1:
            out.append(first)
            units.append(None)
        else:
            out.append(_indent(first) + " ".join(line.strip() for line in block))
            units.append(
                _Paragraph(
                    lines=len(block),
                    first_indent=_indent(first),
                    next_indent=min((_indent(line) for line in block[1:]), key=len),
                    width=max(len(line.rstrip()) for line in block),
                )
            )
        index += len(block)
    return "\n".join(out), Layout(tuple(units))
