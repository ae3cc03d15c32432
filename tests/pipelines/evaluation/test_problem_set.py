"""The Spanish problem set: well formed, each problem solvable, each test able to fail."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.pipelines.evaluation.metrics import parses, run_against_tests
from python_tutor.pipelines.evaluation.sandbox import OK, SandboxLimits
from python_tutor.pipelines.evaluation.selection import PROBLEM_FIELDS

from .reference_solutions import SOLUTIONS

LIMITS = SandboxLimits(timeout_s=5.0, cpu_s=5, memory_mb=256)


@pytest.fixture(scope="module")
def problems(project_root) -> pd.DataFrame:
    return pd.read_json(
        project_root / "data/01_raw/eval_problems_es.jsonl", lines=True, dtype=False
    )


def test_the_set_has_at_least_20_unique_well_formed_problems(problems):
    assert len(problems) >= 20
    assert problems["problem_id"].is_unique and problems["entry_point"].is_unique
    for row in problems.to_dict(orient="records"):
        assert all(str(row[field]).strip() for field in PROBLEM_FIELDS), row["problem_id"]
        assert row["signature"].startswith(f"def {row['entry_point']}("), row["problem_id"]
        assert parses(row["tests"]) and "assert" in row["tests"], row["problem_id"]


def test_every_problem_has_a_reference_solution_kept_out_of_the_data(problems):
    assert set(SOLUTIONS) == set(problems["problem_id"])
    for row in problems.to_dict(orient="records"):
        assert SOLUTIONS[row["problem_id"]] not in " ".join(map(str, row.values()))


def test_every_reference_solution_passes_its_tests(problems):
    failures = {}
    for row in problems.to_dict(orient="records"):
        result = run_against_tests(SOLUTIONS[row["problem_id"]], row["tests"], LIMITS)
        if result.status != OK:
            failures[row["problem_id"]] = result.reason
    assert failures == {}


def test_every_problems_tests_reject_a_stub(problems):
    """A stub that returns None must fail every problem: no test that cannot fail."""
    passing_stubs = []
    for row in problems.to_dict(orient="records"):
        stub = f"{row['signature']}\n    return None\n"
        if run_against_tests(stub, row["tests"], LIMITS).status == OK:
            passing_stubs.append(row["problem_id"])
    assert passing_stubs == []
