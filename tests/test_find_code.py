"""Code is found wherever real data puts it: bare cells, doctests, HTML, prose lines."""

from __future__ import annotations

import decimal
import inspect
import json

import pytest

from python_tutor.find_code import find_code, is_code, split_markdown

# The shape of the 18k alpaca set's `output`: a whole function, no fences.
ALPACA_OUTPUT = """from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    for idx, elem in enumerate(numbers):
        for idx2, elem2 in enumerate(numbers):
            if idx != idx2:
                distance = abs(elem - elem2)
                if distance < threshold:
                    return True

    return False"""


def covered(text: str) -> str:
    """The text with every found span replaced by nothing: what would be translated."""
    out, cursor = [], 0
    for start, end in find_code(text):
        out.append(text[cursor:start])
        cursor = end
    return "".join(out) + text[cursor:]


def test_a_bare_function_is_one_span():
    assert find_code(ALPACA_OUTPUT) == [(0, len(ALPACA_OUTPUT))]


def test_doctest_sessions_in_a_real_docstring_are_code():
    doc = inspect.getdoc(decimal.Decimal.quantize)
    left = covered(doc)
    assert ">>>" not in left and "Decimal('1.414')" not in left
    assert "Unlike other operations" in left and "rounding argument" in left


def test_a_multi_line_doctest_with_continuations_is_one_span():
    doc = decimal.Context.__doc__
    assert "..." in doc and "rounding=ROUND_HALF_EVEN" in doc
    left = covered(doc)
    assert "ROUND_HALF_EVEN" not in left and "traps=" not in left
    assert "controls rounding" in left


def test_inline_double_backquotes_of_a_real_docstring_are_code():
    left = covered(json.dumps.__doc__)
    assert "``" not in left
    assert "is true then" in left


@pytest.mark.parametrize(
    ("text", "code", "prose"),
    [
        # a signature and a call in running prose
        (
            "Use print(getcontext().prec) to see the precision.",
            ["print(getcontext().prec)"],
            ["Use", "to see the precision."],
        ),
        # an assignment on its own line between sentences
        (
            "First build the mapping.\nresult = dict(zip(keys, values))\nThen return it.",
            ["result = dict(zip(keys, values))"],
            ["First build the mapping.", "Then return it."],
        ),
        # an unfenced function body after a sentence, then prose again
        (
            "Here is the function:\ndef double(x):\n    return x * 2\nIt doubles x.",
            ["def double(x):\n    return x * 2"],
            ["Here is the function:", "It doubles x."],
        ),
        # a Markdown indented block (Stack Overflow)
        (
            "Sort by value:\n\n    sorted(d.items(), key=lambda kv: kv[1])\n\nIt returns a list.",
            ["sorted(d.items(), key=lambda kv: kv[1])"],
            ["Sort by value:", "It returns a list."],
        ),
        # HTML bodies: <pre><code> and <code>, the paragraphs around them are prose
        (
            "<p>How do I loop?</p>\n<pre><code>for i in range(3):\n    print(i)\n</code></pre>"
            "\n<p>Use <code>enumerate()</code> instead.</p>",
            [
                "<pre><code>for i in range(3):\n    print(i)\n</code></pre>",
                "<code>enumerate()</code>",
            ],
            ["How do I loop?", "instead."],
        ),
        # a fenced block and backquoted code
        (
            "Call `len(items)` first.\n\n```python\nn = len(items)\n```\n\nDone.",
            ["`len(items)`", "```python\nn = len(items)\n```"],
            ["Call", "first.", "Done."],
        ),
    ],
)
def test_code_in_prose_is_found_and_prose_is_left(text, code, prose):
    spans = [text[a:b] for a, b in find_code(text)]
    for snippet in code:
        assert snippet in spans
    left = covered(text)
    for words in prose:
        assert words in left


@pytest.mark.parametrize(
    "line",
    [
        "Return the file name.",
        "Note: this is important",  # parses (an annotation) but is English
        "Returns: str",
        "Args:",
        "apples, oranges, pears",  # parses as a tuple of names
        "this is it",  # parses as a comparison
        "For example, see below.",
    ],
)
def test_english_that_python_can_parse_is_not_code(line):
    assert not is_code(line)
    assert find_code(line) == [] or all(line[a:b] != line for a, b in find_code(line))


@pytest.mark.parametrize(
    "line",
    ["x = 5", "import os", "def f(a, b=1):", "for idx, elem in enumerate(numbers):", "print(x)"],
)
def test_python_statements_are_code(line):
    assert is_code(line)


PY = ["python", "py"]
MODEL_ANSWER = (
    "La función `suma` recibe dos números y devuelve su suma.\n\n"
    "```python\ndef suma(a, b):\n    return a + b\n```\n\n"
    "Después la llamas así:\n\n```py\nprint(suma(1, 2))\n```\n\n"
    "```text\nsalida: 3\n```\n"
)


class TestSplitMarkdown:
    def test_prose_has_no_code_and_blocks_are_split_by_language(self):
        split = split_markdown(MODEL_ANSWER, PY)
        assert "def suma" not in split.prose
        assert "`suma`" not in split.prose and "suma" not in split.prose.split()
        assert "recibe dos números" in split.prose
        assert split.python_blocks == ("def suma(a, b):\n    return a + b\n", "print(suma(1, 2))\n")
        assert split.other_blocks == ("salida: 3\n",)

    def test_an_unclosed_fence_at_the_token_limit_is_still_code(self):
        split = split_markdown("Mira:\n\n```python\nfor i in range(3):\n    print(", PY)
        assert split.prose == "Mira:"
        assert split.python_blocks == ("for i in range(3):\n    print(",)

    def test_unfenced_code_paragraphs_are_not_prose(self):
        answer = (
            "Así se rota:\n\ndef rotar(xs, k): return xs[-k:] + xs[:-k]\nprint(rotar([1, 2], 1))"
        )
        split = split_markdown(answer, PY)
        assert split.prose == "Así se rota:"
        assert split.bare_code == (
            "def rotar(xs, k): return xs[-k:] + xs[:-k]\nprint(rotar([1, 2], 1))",
        )
        assert split_markdown("Hola", PY).prose == "Hola"

    def test_an_answer_without_code_is_all_prose(self):
        split = split_markdown("Una tupla es inmutable.", PY)
        assert split.python_blocks == () and split.prose == "Una tupla es inmutable."
