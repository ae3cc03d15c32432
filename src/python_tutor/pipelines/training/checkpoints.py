"""The trainer's checkpoint folders: where checkpoints live and when a run may resume from them.

Checkpoints are optimizer and scheduler state for a run that has not finished; they are not a
catalog artifact. Each run trains in ``<training.run.checkpoint_dir>/<fingerprint>``, keyed by
a hash of the parameters and data, so a killed run is resumed by the next run of the same
settings (from any process) and runs of other settings never touch its folder. Two runs of the
same fingerprint at once take turns (a file lock beside the folder).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

FINGERPRINT = "run_fingerprint.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def fingerprint(params: Mapping[str, Any], data_sha256: Mapping[str, str]) -> str:
    """Hash of everything that decides what a run trains (parameters and data)."""
    payload = json.dumps({"params": params, "data": data_sha256}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def last_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The ``checkpoint-<step>`` directory with the highest step that finished saving."""
    if not checkpoint_dir.is_dir():
        return None
    found = [
        (int(match.group(1)), path)
        for path in checkpoint_dir.iterdir()
        if (match := _CHECKPOINT.match(path.name)) and (path / "trainer_state.json").is_file()
    ]
    return max(found)[1] if found else None


def prepare_checkpoint_dir(checkpoint_dir: Path, run_fingerprint: str, resume: bool) -> Path | None:
    """Make ``checkpoint_dir`` ready for this run; the checkpoint to resume from, if any.

    ``resume: false`` starts clean. ``resume: true`` continues from the last checkpoint when
    the fingerprint matches and refuses (naming the parameter) when it does not.

    Raises:
        ValueError: checkpoints of a different run are in the way of ``resume: true``.
    """
    stamp = checkpoint_dir / FINGERPRINT
    if resume and (latest := last_checkpoint(checkpoint_dir)):
        recorded = json.loads(stamp.read_text())["fingerprint"] if stamp.is_file() else None
        if recorded != run_fingerprint:
            raise ValueError(
                f"`training.run.resume: true`, but the checkpoints in {checkpoint_dir} were made "
                "with other parameters or data. Set `training.run.resume: false` to start over "
                f"(it deletes them), or point `training.run.checkpoint_dir` elsewhere."
            )
        logger.info("Resuming from %s", latest)
        return latest
    if checkpoint_dir.exists():
        shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True)
    stamp.write_text(json.dumps({"fingerprint": run_fingerprint}))
    return None


def checkpoint_folder(root: Path, run_fingerprint: str) -> Path:
    """The checkpoint folder of one fingerprint under ``training.run.checkpoint_dir``."""
    return root / run_fingerprint[:16]


@contextmanager
def claim_checkpoints(
    checkpoint_dir: Path, run_fingerprint: str, resume: bool, keep: bool
) -> Iterator[Path | None]:
    """Hold ``checkpoint_dir`` for one run; yields the checkpoint to resume from, if any.

    A run of the same fingerprint already training holds the lock: this one waits, then
    resumes what that one left (nothing, when it finished). When the body succeeds the spent
    checkpoints are removed (unless ``keep``); when it fails they stay for the next run.
    """
    lock = FileLock(checkpoint_dir.parent / f".{checkpoint_dir.name}.lock")
    checkpoint_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info(
            "Another run is training the same settings in %s: waiting for it", checkpoint_dir
        )
        lock.acquire()
    try:
        yield prepare_checkpoint_dir(checkpoint_dir, run_fingerprint, resume)
        if not keep:
            shutil.rmtree(checkpoint_dir)
    finally:
        lock.release()
