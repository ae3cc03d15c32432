"""A working folder private to one run, for libraries that can only write to local folders.

The trainer and llama.cpp's converter write their results into folders before the versioned
datasets copy them. A fixed shared folder let two runs wipe each other's files; this dataset
gives each run (each catalog, so each ``kedro run``) its own ``<path>/<UTC time>-pid<pid>-<id>``,
the time in Kedro's version format (``2026-11-29T02.10.00.000Z``), so a scratch folder and the
versions its run saved read alike.
``hooks.ScratchHooks`` removes it when the run succeeds; a failed run keeps it to be looked at,
and a killed one leaves it behind (the next run's log counts such leftovers).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import generate_timestamp

logger = logging.getLogger(__name__)


class RunScratchDataset(AbstractDataset[Any, Path]):
    """Loads as this run's own empty folder under ``path``; read-only.

    Example catalog entry::

        export_scratch:
          type: python_tutor.datasets.run_scratch.RunScratchDataset
          path: data/06_models/scratch/export
    """

    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._root = Path(path)
        # Named now, created on first load: copies of this dataset (a parallel runner's
        # workers) all point at the same folder.
        name = f"{generate_timestamp()}-pid{os.getpid()}-{secrets.token_hex(3)}"
        self._folder = self._root / name
        self.metadata = metadata

    def load(self) -> Path:
        """This run's folder, created on the first load."""
        if not self._folder.is_dir():
            self._folder.mkdir(parents=True)
            others = [p.name for p in self._root.iterdir() if p != self._folder]
            if others:
                logger.info(
                    "%d other scratch folder(s) in %s: runs in progress, or left by killed "
                    "runs (delete those when no run is active)",
                    len(others),
                    self._root,
                )
        return self._folder

    def save(self, data: Any) -> None:
        """Nodes write into the folder they loaded; the dataset itself is never saved."""
        raise DatasetError("RunScratchDataset is read-only: write into the folder it loads as.")

    def remove(self) -> None:
        """Delete this run's folder (the run succeeded: everything in it was saved elsewhere)."""
        shutil.rmtree(self._folder, ignore_errors=True)

    @property
    def folder(self) -> Path:
        """This run's folder (it exists once loaded)."""
        return self._folder

    def _exists(self) -> bool:
        return True  # a run's folder can always be made: the input is never missing

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root)}
