"""Wrapped paragraphs are translated whole and wrapped again; other lines keep their place."""

from __future__ import annotations

import re

import pytest

from python_tutor.pipelines.translation.layout import LayoutError, reflow

PLACEHOLDER = re.compile(r"XQZ(\d+)X")
# Hard-wrapped like a real docstring (textwrap.dedent's own), with an Args: section.
DOC = (
    "Remove any common leading whitespace from every line in `text`.\n"
    "\n"
    "This can be used to make triple-quoted strings line up with the left\n"
    "edge of the display, while still presenting them in the source code\n"
    "in indented form.\n"
    "\n"
    "Args:\n"
    "    text: The text to dedent. Lines that consist solely of\n"
    "        whitespace are normalized.\n"
    "    XQZ0X\n"
    "- a list item\n"
    "- another item"
)


def test_wrapped_paragraphs_become_one_line_each():
    flat, _ = reflow(DOC, PLACEHOLDER)
    lines = flat.split("\n")
    assert (
        "This can be used to make triple-quoted strings line up with the left edge of the "
        "display, while still presenting them in the source code in indented form." in lines
    )
    assert (
        "    text: The text to dedent. Lines that consist solely of whitespace are normalized."
        in lines
    )
    assert "Args:" in lines and "    XQZ0X" in lines
    assert "- a list item" in lines and "- another item" in lines


def test_restore_wraps_to_the_original_width_and_indentation():
    flat, layout = reflow(DOC, PLACEHOLDER)
    back = layout.restore(flat)
    for line in back.split("\n"):
        assert len(line) <= max(map(len, DOC.split("\n")))
    assert back.split("\n")[7].startswith("    text:")
    assert back.split("\n")[8].startswith("        ")
    assert re.sub(r"\s+", " ", back) == re.sub(r"\s+", " ", DOC)


def test_a_translation_with_other_lines_is_refused():
    flat, layout = reflow(DOC, PLACEHOLDER)
    with pytest.raises(LayoutError, match="lines where"):
        layout.restore(flat + "\nextra")
