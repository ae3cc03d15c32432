"""Text normalisation that never touches code indentation."""

from __future__ import annotations

import unicodedata

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"))


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF: Windows-saved CSVs must hash like Unix ones."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_prose(text: str) -> str:
    """NFC, LF newlines, no invisible characters, no surrounding whitespace."""
    text = unicodedata.normalize("NFC", normalise_newlines(text))
    return text.translate(_INVISIBLE).strip()


def clean_code(text: str) -> str:
    """LF newlines and no blank lines around the code; every other byte is kept.

    Leading spaces of the first line are indentation, so only whole blank lines are removed.
    """
    lines = normalise_newlines(text).translate(_INVISIBLE).split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)
