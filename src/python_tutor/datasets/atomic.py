"""All-or-nothing writes: stage beside the target, make it durable, then rename it into place.

A run can die at any instant (SIGKILL, out of memory, a power cut). Whatever sits at an
artifact's final path must then be either the previous state or the complete new one, never a
half-written file that loads. ``rename(2)`` within one filesystem is atomic, so each artifact is
written under a temporary sibling name (same folder, hence same filesystem), every file is
``fsync``-ed, and only then renamed. A directory also gets a completeness marker, written last
inside the staged folder, listing its files and sizes; loaders refuse a directory without it.

Leftovers of a killed write are hidden siblings named ``.<name>.partial-*``; nothing loads them
and they are safe to delete once no run is writing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.io.core import DatasetError

COMPLETE = ".complete.json"
PARTIAL = ".partial-"


def fsync_path(path: Path) -> None:
    """Flush one file's (or directory entry list's) data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _staging_name(target: Path) -> str:
    return f".{target.name}{PARTIAL}"


@contextmanager
def staged_file(target: Path, *, replace: bool = True) -> Iterator[Path]:
    """A temporary sibling of ``target`` to write; on success it becomes ``target`` atomically.

    Args:
        target: The final path.
        replace: False for a versioned save: an existing ``target`` is an error, never
            overwritten (two runs that picked the same version must not clobber each other).

    Raises:
        DatasetError: ``replace`` is False and ``target`` exists.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_staging_name(target), dir=target.parent)
    os.close(fd)
    staging = Path(name)
    try:
        yield staging
        fsync_path(staging)
        if replace:
            staging.replace(target)
        else:
            _link_new(staging, target)
        fsync_path(target.parent)
    finally:
        staging.unlink(missing_ok=True)


def _link_new(staging: Path, target: Path) -> None:
    """``staging`` becomes ``target`` only if ``target`` does not exist yet (one atomic step)."""
    try:
        os.link(staging, target)
    except FileExistsError as err:
        raise DatasetError(f"'{target}' already exists; a version is never overwritten") from err


def write_text(target: Path, text: str, *, replace: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with staged_file(target, replace=replace) as staging:
        staging.write_text(text, encoding="utf-8")


def copy_file(source: Path, target: Path, *, replace: bool = True) -> None:
    """Copy ``source`` to ``target`` atomically."""
    with staged_file(target, replace=replace) as staging:
        shutil.copyfile(source, staging)


def manifest(directory: Path) -> dict[str, Any]:
    """The completeness record of a directory: every file (relative POSIX path) and its size."""
    files = {
        path.relative_to(directory).as_posix(): path.stat().st_size
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != COMPLETE
    }
    return {"saved_at": datetime.now(UTC).isoformat(timespec="seconds"), "files": files}


def sync_tree(directory: Path) -> None:
    """``fsync`` every file and folder under ``directory`` (the folder itself included)."""
    for path in sorted(directory.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(directory)


@contextmanager
def staged_directory(target: Path, *, replace: bool = True) -> Iterator[Path]:
    """An empty temporary sibling folder to fill; on success it becomes ``target`` atomically.

    Every file is synced, the marker (``COMPLETE``, the manifest) is written and synced last,
    then the folder is renamed. With ``replace``, an existing ``target`` is swapped out: for a
    moment neither exists, but a half-written one never does.

    Raises:
        DatasetError: ``replace`` is False and ``target`` exists.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_staging_name(target), dir=target.parent))
    aside: Path | None = None
    try:
        yield staging
        sync_tree(staging)
        marker = staging / COMPLETE
        marker.write_text(json.dumps(manifest(staging), indent=2), encoding="utf-8")
        fsync_path(marker)
        if replace and target.exists():
            aside = Path(tempfile.mkdtemp(prefix=_staging_name(target), dir=target.parent))
            target.rename(aside / target.name)
        try:
            staging.rename(target)  # refuses a non-empty target: never merges into another save
        except OSError as err:
            if aside is not None:  # put the previous one back
                (aside / target.name).rename(target)
            raise DatasetError(
                f"'{target}' already exists; a version is never overwritten"
            ) from err
        fsync_path(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def check_complete(files: dict[str, int], recorded: dict[str, Any] | None, where: str) -> None:
    """Refuse a directory whose marker is missing or whose files differ from it.

    Args:
        files: The directory's files now (relative path -> size), marker excluded.
        recorded: The parsed marker, None when there is none.
        where: The directory, for the message.

    Raises:
        DatasetError: naming the directory and what is wrong.
    """
    if recorded is None:
        raise DatasetError(
            f"'{where}' is incomplete: it has no {COMPLETE} (a save that was interrupted, or "
            "one made before saves were atomic). Load another version, or delete the folder."
        )
    expected = recorded.get("files", {})
    wrong = sorted(
        name for name in expected.keys() | files.keys() if expected.get(name) != files.get(name)
    )
    if wrong:
        raise DatasetError(
            f"'{where}' does not match its {COMPLETE}: {', '.join(wrong[:5])} missing, extra or "
            "of another size. It was changed after saving; load another version."
        )
