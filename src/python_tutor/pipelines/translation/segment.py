"""Cut masked prose into sentence segments a backend can take, and put it back together.

Segments never hold a newline (Apertium translates one line per segment of a batch) and never
exceed the backend's character limit; everything between them (newlines, indentation, the
spaces after a full stop, lines of placeholders only) is kept aside and rejoined unchanged.
Segments are also the unit of the translation cache, so an edited paragraph re-translates
only the sentences that changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=\S)")
LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text; ``translate`` says whether it goes to the backend."""

    text: str
    translate: bool


def _has_words(text: str, placeholder: re.Pattern[str]) -> bool:
    """True when something but placeholders, digits and punctuation is left to translate."""
    return bool(LETTER.search(placeholder.sub(" ", text)))


def _cut(sentence: str, max_chars: int) -> list[str]:
    """Split an over-long sentence at the last space before the limit (or hard, if none)."""
    parts = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 1, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        parts.append(sentence[:cut])
        sentence = sentence[cut:]
    parts.append(sentence)
    return parts


def split_segments(text: str, max_chars: int, placeholder: re.Pattern[str]) -> list[Piece]:
    """Split ``text`` into pieces whose texts concatenate back to ``text`` exactly.

    Raises:
        ValueError: ``max_chars`` is not positive.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive; got {max_chars}")
    pieces: list[Piece] = []

    def keep(chunk: str) -> None:
        if chunk:
            pieces.append(Piece(chunk, False))

    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        stripped = body.strip()
        if not _has_words(stripped, placeholder):
            keep(line)
            continue
        start = body.index(stripped[0])
        keep(body[:start])
        position = start
        for boundary in [*SENTENCE_END.finditer(stripped), None]:
            end = start + boundary.start() if boundary else start + len(stripped)
            for part in _cut(body[position:end], max_chars):
                # A cut part may start with the space it was cut at: keep that space aside.
                lead = len(part) - len(part.lstrip(" "))
                keep(part[:lead])
                if part[lead:]:
                    pieces.append(Piece(part[lead:], _has_words(part, placeholder)))
            if boundary:
                keep(body[end : start + boundary.end()])
                position = start + boundary.end()
        keep(body[start + len(stripped) :] + line[len(body) :])
    return pieces


def join_pieces(pieces: list[Piece], translations: dict[str, str]) -> str:
    """Rejoin the pieces, with each translatable one replaced by its translation."""
    return "".join(translations[p.text] if p.translate else p.text for p in pieces)
