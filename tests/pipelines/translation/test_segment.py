"""Segments rejoin to the exact text, stay under the limit and never span lines."""

from __future__ import annotations

import re

import pytest

from python_tutor.pipelines.translation.segment import join_pieces, split_segments

PLACEHOLDER = re.compile(r"XQZ(\d+)X")
TEXT = "First sentence. Second one!  Third?\n\nXQZ0X\n  - an item: with XQZ1X.\nlast words"


def test_pieces_rejoin_to_the_text():
    pieces = split_segments(TEXT, 1000, PLACEHOLDER)
    assert "".join(p.text for p in pieces) == TEXT
    assert [p.text for p in pieces if p.translate] == [
        "First sentence.",
        "Second one!",
        "Third?",
        "- an item:",
        "with XQZ1X.",
        "last words",
    ]


def test_lines_of_placeholders_are_not_sent():
    pieces = split_segments("XQZ0X\nXQZ1X, 42.\n", 1000, PLACEHOLDER)
    assert not any(p.translate for p in pieces)


def test_long_sentences_are_cut_at_spaces_under_the_limit():
    text = " ".join(["word"] * 60) + "."
    pieces = split_segments(text, 50, PLACEHOLDER)
    sent = [p.text for p in pieces if p.translate]
    assert len(sent) > 1
    assert all(len(s) <= 50 and "\n" not in s for s in sent)
    assert "".join(p.text for p in pieces) == text


def test_join_uses_translations():
    pieces = split_segments("Hello. Bye.", 100, PLACEHOLDER)
    assert join_pieces(pieces, {"Hello.": "Hola.", "Bye.": "Adiós."}) == "Hola. Adiós."


def test_non_positive_limit_is_an_error():
    with pytest.raises(ValueError, match="max_chars must be positive"):
        split_segments("x", 0, PLACEHOLDER)
