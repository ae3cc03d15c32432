"""HumanEval-ES: docstrings translated, the program untouched, failures kept with a reason.

The oracle here is Python itself, not the node's checks: each prompt is executed, and the
function it defines must have the same signature, bytecode, names and doctest examples
(``doctest.DocTestFinder`` on the live docstring) in English and Spanish.
"""

from __future__ import annotations

import doctest
import inspect
import tempfile

import pandas as pd
import pytest

from python_tutor.datasets.humaneval import HumanEvalDataset
from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.pipelines.translation.humaneval import independent_problem, translate_humaneval

PROMPT = (
    "from typing import List\n\n\n"
    "def below_zero(operations: List[int]) -> bool:\n"
    '    """ You\'re given a list of deposit and withdrawal operations on a bank account.\n'
    "    >>> below_zero([1, 2, 3])\n    False\n"
    '    """\n'
    "    # keep a running balance\n"
    "    return any(x < 0 for x in operations)\n"
)


def function_of(prompt: str, entry_point: str):
    namespace: dict = {}
    exec(compile(prompt, "<prompt>", "exec"), namespace)  # noqa: S102 - the package's prompts
    return namespace[entry_point]


def examples_of(function) -> list[tuple[str, str]] | str:
    try:
        tests = doctest.DocTestFinder(recurse=False).find(function)
    except ValueError as err:  # a docstring doctest cannot read, in both languages alike
        return f"unreadable: {type(err).__name__}"
    return [(e.source, e.want) for t in tests for e in t.examples]


def same_program(english: str, spanish: str, entry_point: str) -> None:
    before, after = function_of(english, entry_point), function_of(spanish, entry_point)
    assert inspect.signature(before) == inspect.signature(after)
    assert before.__code__.co_code == after.__code__.co_code
    assert before.__code__.co_names == after.__code__.co_names
    assert before.__code__.co_varnames == after.__code__.co_varnames
    assert examples_of(before) == examples_of(after)


@pytest.fixture(scope="module")
def humaneval():
    return HumanEvalDataset().load()


def run(humaneval, params, backend):
    cache = TranslationCache(tempfile.mkdtemp(prefix="humaneval_cache_"))
    return translate_humaneval(
        humaneval,
        cache,
        backend,
        params["batching"],
        params["retry"],
        params["protect"],
        params["segment"],
    )


@pytest.mark.usefixtures("tutor_mode")
def test_the_tutor_mode_translates_docstrings_and_nothing_else(humaneval, params):
    frame, report = run(humaneval, params, params["backend"])
    assert len(frame) == 164 == report["translated"] + report["kept_in_english"]
    assert report["translated"] >= 150  # 162 when this test was written
    for row in frame.itertuples():
        if row.translated:
            assert row.prompt != row.prompt_en and pd.isna(row.reason)
            same_program(row.prompt_en, row.prompt, row.entry_point)
        else:
            assert row.prompt == row.prompt_en and row.reason
    first = frame.set_index("task_id").loc["HumanEval/0", "prompt"]
    assert "Comprueba" in first and ">>> has_close_elements([1.0, 2.0, 3.0], 0.5)" in first


def test_a_backend_that_changes_nothing_keeps_every_row_with_its_reason(humaneval, params):
    frame, report = run(humaneval.head(5), params, {**params["backend"], "name": "none"})
    assert len(frame) == 5 and report["kept_in_english"] == 5
    assert all(reason.startswith("kept in English") for reason in frame["reason"])
    assert list(frame["prompt"]) == list(frame["prompt_en"])


class TestIndependentCheck:
    def test_translated_prose_and_comments_pass(self):
        spanish = PROMPT.replace("You're given a list", "Recibes una lista").replace(
            "# keep a running balance", "# lleva el saldo"
        )
        assert independent_problem(PROMPT, spanish) is None
        same_program(PROMPT, spanish, "below_zero")

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            (("List[int]) -> bool", "List[int]) -> int"), "outside the docstrings"),
            (("below_zero([1, 2, 3])", "debajo_cero([1, 2, 3])"), "doctest examples"),
            (("    False\n", "    Falso\n"), "doctest examples"),
            (("x < 0", "x <= 0"), "outside the docstrings"),
            (('"""\n    # keep', '"""\n  # keep'), None),  # a comment's indent is layout
        ],
    )
    def test_any_change_to_code_or_examples_is_named(self, change, reason):
        found = independent_problem(PROMPT, PROMPT.replace(*change))
        assert (found is None) if reason is None else (reason in found)
