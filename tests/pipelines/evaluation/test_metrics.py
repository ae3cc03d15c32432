"""Scoring helpers: Markdown split, language of the prose, parse/run, chrF, pass@1 pieces."""

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


@pytest.fixture(scope="module")
def detector():
    return m.build_language_detector(["es", "en", "pt"])


class TestSplitMarkdown:
    def test_prose_has_no_code_and_blocks_are_split_by_language(self):
        split = m.split_markdown(ANSWER, PY)
        assert "def suma" not in split.prose
        assert "`suma`" not in split.prose and "suma" not in split.prose.split()
        assert "recibe dos números" in split.prose
        assert split.python_blocks == ("def suma(a, b):\n    return a + b\n", "print(suma(1, 2))\n")
        assert split.other_blocks == ("salida: 3\n",)

    def test_an_unclosed_fence_at_the_token_limit_is_still_code(self):
        split = m.split_markdown("Mira:\n\n```python\nfor i in range(3):\n    print(", PY)
        assert split.prose == "Mira:"
        assert split.python_blocks == ("for i in range(3):\n    print(",)

    def test_unfenced_code_paragraphs_are_not_prose(self):
        answer = (
            "Así se rota:\n\ndef rotar(xs, k): return xs[-k:] + xs[:-k]\nprint(rotar([1, 2], 1))"
        )
        split = m.split_markdown(answer, PY)
        assert split.prose == "Así se rota:"
        assert split.bare_code == (
            "def rotar(xs, k): return xs[-k:] + xs[:-k]\nprint(rotar([1, 2], 1))",
        )
        assert m.split_markdown("Hola", PY).prose == "Hola"

    def test_an_answer_without_code_is_all_prose(self):
        split = m.split_markdown("Una tupla es inmutable.", PY)
        assert split.python_blocks == () and split.prose == "Una tupla es inmutable."


class TestLanguage:
    def test_spanish_and_english_prose_are_told_apart(self, detector):
        spanish = m.split_markdown(ANSWER, PY).prose
        assert m.language_of(detector, spanish, 10) == "es"
        english = "This function returns the sum of two numbers and prints it."
        assert m.language_of(detector, english, 10) == "en"

    def test_code_does_not_make_an_english_answer_spanish(self, detector):
        answer = "Use this helper to add numbers.\n\n```python\nnumeros = suma(uno, dos)\n```"
        assert m.language_of(detector, m.split_markdown(answer, PY).prose, 10) == "en"

    def test_too_little_prose_has_no_language(self, detector):
        assert m.language_of(detector, "Sí.", 10) is None

    def test_unknown_language_codes_name_the_parameter(self):
        with pytest.raises(ValueError, match=r"'xx'.*evaluation\.language"):
            m.build_language_detector(["es", "xx"])
        with pytest.raises(ValueError, match="at least two"):
            m.build_language_detector(["es"])


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
