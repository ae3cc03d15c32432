"""The integrity check sees lost code by its own reading of Python, not the protection's."""

from __future__ import annotations

import pytest

from python_tutor.pipelines.translation.integrity import (
    code_problem,
    is_code_line,
    prose_problem,
)

ENGLISH = (
    "Check each pair of numbers.\n\n"
    "    for idx, elem in enumerate(numbers):\n"
    "        distance = abs(elem - elem2)\n\n"
    "The helper `abs()` and math.fabs behave alike; ROUND_UP is a constant."
)


@pytest.mark.parametrize(
    "line",
    [
        ">>> print(getcontext().prec)",
        "for idx, elem in enumerate(numbers):",
        "from typing import List",
        "return x + 1",
        "    distance = abs(elem - elem2)",
    ],
)
def test_python_lines_are_code(line):
    assert is_code_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Return the file name.",
        "Note: this is it",
        "Returns: str",
        "website: www.example.com",
        "this is it",
        "Args:",
        "",
    ],
)
def test_english_lines_are_not(line):
    assert not is_code_line(line)


def test_intact_code_passes():
    spanish = ENGLISH.replace("Check each pair of numbers.", "Comprueba cada par de números.")
    assert prose_problem(ENGLISH, spanish) is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("for idx, elem in enumerate(numbers):", "para idx, elem en enumerar(números):"),
        ("math.fabs", "matemáticas.fabs"),
        ("`abs()`", "`abdominales()`"),
        ("ROUND_UP", "RONDA_ARRIBA"),
    ],
)
def test_each_kind_of_changed_code_is_caught(before, after):
    assert before in ENGLISH
    assert prose_problem(ENGLISH, ENGLISH.replace(before, after)) is not None


def test_code_es_may_change_comments_and_docstrings_only():
    code = 'def f(x):\n    """Return x."""\n    return x  # same\n'
    translated = code.replace("Return x.", "Devuelve x.").replace("same", "igual")
    assert code_problem(code, translated) is None
    assert "another program" in code_problem(code, code.replace("return x", "return -x"))
    assert code_problem(code, code.replace("def f", "definir f")) == "code_es does not parse"
