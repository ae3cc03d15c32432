"""Versions of the catalog's artifacts and rollback pins.

A pin is a per-user choice (``conf/<env>/pins.yml``, git-ignored in ``conf/local``) of the
version the next runs load for one dataset: ``--load-versions`` made persistent and reversible.
Nothing is deleted or copied; removing the pin brings back "latest".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from kedro.io.core import (
    VERSION_FORMAT,
    AbstractVersionedDataset,
    DatasetError,
    VersionNotFoundError,
)

from python_tutor.private_api.kedro import set_load_version, versioned_path

LINEAGE_FILE = "_lineage.json"  # written beside each version by hooks.LineageHooks
PINS_KEY = "pins"
PINS_FILE = "pins.yml"


@dataclass(frozen=True)
class VersionInfo:
    """One saved version of one dataset, as `kedro tutor versions` lists it."""

    dataset: str
    version: str
    saved_at: datetime | None
    size_bytes: int
    inputs: dict[str, str | None]
    loaded_next: bool


def version_path(dataset: AbstractVersionedDataset, version: str) -> Path:
    """The file (or directory) of one version of a dataset, in the dataset's own layout."""
    return Path(str(versioned_path(dataset, version)))


def version_dir(dataset: AbstractVersionedDataset, version: str) -> Path:
    """The folder that holds one version of a dataset (``filepath/<version>``)."""
    return version_path(dataset, version).parent


def read_lineage(dataset: AbstractVersionedDataset, version: str) -> dict[str, Any] | None:
    """The lineage record of one version, or None for versions made before lineage existed."""
    path = version_dir(dataset, version) / LINEAGE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_version_of(dataset: AbstractVersionedDataset, version: str) -> None:
    """Make ``dataset`` load ``version`` from now on (what ``--load-versions`` does).

    Kedro builds datasets with ``Version(load, save)``; only ``load`` is replaced.
    """
    set_load_version(dataset, version)


def versioned_dataset(catalog: Any, name: str) -> AbstractVersionedDataset | None:
    """The catalog's dataset ``name`` when it is versioned, else None (also for no catalog)."""
    if catalog is None or name not in catalog:
        return None
    dataset = catalog.get(name)
    return dataset if isinstance(dataset, AbstractVersionedDataset) else None


def load_version(catalog: Any, name: str) -> str | None:
    """The version of ``name`` a load would read now, or None (not versioned, none saved yet)."""
    dataset = versioned_dataset(catalog, name)
    if dataset is None:
        return None
    try:
        return dataset.resolve_load_version()
    except DatasetError:
        return None


def versioned_datasets(catalog: Any) -> dict[str, AbstractVersionedDataset]:
    """Every versioned dataset of the catalog, by name."""
    found = {name: versioned_dataset(catalog, name) for name in sorted(catalog.keys())}
    return {name: dataset for name, dataset in found.items() if dataset is not None}


def list_versions(name: str, dataset: AbstractVersionedDataset) -> list[VersionInfo]:
    """The versions of one dataset, newest first, with size, inputs and the one loaded next."""
    try:
        versions = dataset.list_versions(full_path=False)
    except VersionNotFoundError:
        return []
    try:  # a pinned version is returned as is; one that is gone simply marks no row
        current = dataset.resolve_load_version()
    except VersionNotFoundError:  # every version removed since they were listed
        current = None
    infos = []
    for version in versions:
        folder = version_dir(dataset, version)
        lineage = read_lineage(dataset, version) or {}
        infos.append(
            VersionInfo(
                dataset=name,
                version=version,
                saved_at=_parse_version(version),
                size_bytes=sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
                inputs=lineage.get("inputs", {}),
                loaded_next=version == current,
            )
        )
    return infos


def _parse_version(version: str) -> datetime | None:
    try:
        return datetime.strptime(version, VERSION_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def read_pins(path: Path) -> dict[str, str]:
    """The pins file's mapping of dataset -> version (empty when there is none)."""
    if not path.is_file():
        return {}
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(content.get(PINS_KEY) or {})


def write_pins(path: Path, pins: dict[str, str]) -> None:
    """Write the pins file; an empty mapping removes it, so no stale file stays behind."""
    if not pins:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by `kedro tutor rollback`: the version each dataset's next runs load.\n"
    path.write_text(header + yaml.safe_dump({PINS_KEY: dict(sorted(pins.items()))}), "utf-8")
