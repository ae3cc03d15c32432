"""Scoring helpers: parse/run, the code of an answer, chrF, pass@1 pieces, rates."""

from __future__ import annotations

import math

import pytest

from python_tutor.pipelines.evaluation import metrics as m
from python_tutor.pipelines.evaluation.sandbox import BLOCKED, ERROR, OK, SandboxLimits

PY = ["python", "py"]
LIMITS = SandboxLimits(timeout_s=3.0, cpu_s=3, memory_mb=256)

ANSWER = (
    "La función `suma` recibe dos números y devuelve su suma.\n\n"
    "```python\ndef suma(a, b):\n    return a + b\n```\n\n"
    "Después la llamas así:\n\n```py\nprint(suma(1, 2))\n```\n\n"
    "```text\nsalida: 3\n```\n"
)


def test_parses_accepts_python_and_rejects_broken_code():
    assert m.parses("def f():\n    return 1\n")
    assert not m.parses("def f(:\n")
    assert not m.parses("x = '\0'\x00")


class TestSolutionCode:
    def test_python_fences_win(self):
        assert m.solution_code(ANSWER, PY).startswith("def suma")

    def test_bare_code_counts_when_it_parses(self):
        assert m.solution_code("def f(x):\n    return x\n", PY) == "def f(x):\n    return x\n"

    def test_prose_only_has_no_code(self):
        assert m.solution_code("No sé resolverlo, lo siento.", PY) == ""


class TestRunAgainstTests:
    def test_a_correct_solution_passes(self):
        result = m.run_against_tests(
            "def doble(x):\n    return 2 * x", "assert doble(2) == 4", LIMITS
        )
        assert result.status == OK

    def test_a_wrong_solution_fails_with_the_assertion(self):
        result = m.run_against_tests("def doble(x):\n    return x", "assert doble(2) == 4", LIMITS)
        assert result.status == ERROR and "AssertionError" in result.reason

    def test_hostile_solutions_are_contained(self):
        result = m.run_against_tests("import os\nos.fork()", "assert True", LIMITS)
        assert result.status == BLOCKED

    def test_no_code_is_not_run(self):
        assert m.run_against_tests("  ", "assert True", LIMITS) is None


def test_chrf_is_high_for_the_reference_and_low_for_unrelated_text():
    corpus, pairs = m.chrf_scores(
        ["Una lista es mutable.", "zzz"], ["Una lista es mutable.", "Las tuplas no cambian."]
    )
    assert pairs[0] == pytest.approx(100.0)
    assert pairs[1] < 10
    assert 0 < corpus < 100
    with pytest.raises(ValueError, match="one reference per answer"):
        m.chrf_scores(["a"], [])
    assert math.isnan(m.chrf_scores([], [])[0])


def test_rate_ignores_not_applicable_flags():
    assert m.rate([True, False, None, True]) == {"rate": 2 / 3, "passed": 2, "total": 3}
    assert math.isnan(m.rate([None])["rate"])
