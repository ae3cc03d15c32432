"""Kedro's private versioning API, checked against the installed Kedro: fails on an upgrade that
changes what python_tutor.private_api.kedro relies on."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from kedro.io.core import AbstractVersionedDataset, Version
from kedro_datasets.json import JSONDataset

from python_tutor.private_api.kedro import set_load_version, versioned_path


def _saved_versions(tmp_path: Path) -> JSONDataset:
    for version, value in (("2026-01-01T00.00.00.000Z", 1), ("2026-01-02T00.00.00.000Z", 2)):
        JSONDataset(filepath=str(tmp_path / "m.json"), version=Version(None, version)).save(value)
    return JSONDataset(filepath=str(tmp_path / "m.json"), version=Version(None, None))


def test_versioned_path_is_where_kedro_saved_that_version(tmp_path):
    dataset = _saved_versions(tmp_path)
    path = Path(str(versioned_path(dataset, "2026-01-01T00.00.00.000Z")))
    assert json.loads(path.read_text()) == 1
    assert path.parent.parent == tmp_path / "m.json"  # Kedro's <filepath>/<version>/<name>


def test_set_load_version_switches_what_loads_and_keeps_the_save_version(tmp_path):
    dataset = _saved_versions(tmp_path)
    assert dataset.load() == 2  # latest
    save_before = dataset.resolve_save_version()
    set_load_version(dataset, "2026-01-01T00.00.00.000Z")
    assert dataset.load() == 1
    assert dataset.resolve_load_version() == "2026-01-01T00.00.00.000Z"
    assert dataset.resolve_save_version() == save_before


class _FlatLayout(AbstractVersionedDataset[str, str]):
    """Overrides only ``_get_versioned_path``, as datasets.gguf_file does."""

    def __init__(self, folder: Path, version: Version) -> None:
        super().__init__(PurePosixPath(folder / "x.txt"), version)
        self._folder = folder

    def _get_versioned_path(self, version: str) -> PurePosixPath:
        return PurePosixPath(self._folder / f"{version}.txt")

    def load(self) -> str:
        return Path(str(self._get_load_path())).read_text()

    def save(self, data: str) -> None:
        Path(str(self._get_save_path())).write_text(data)

    def _describe(self) -> dict:
        return {}


def test_kedro_resolves_load_and_save_paths_through_get_versioned_path(tmp_path):
    """datasets.gguf_file moves its versions by overriding this one method."""
    dataset = _FlatLayout(tmp_path, Version("v1", "v1"))
    dataset.save("saved")
    assert (tmp_path / "v1.txt").read_text() == "saved"
    assert dataset.load() == "saved"
    assert versioned_path(dataset, "v2") == PurePosixPath(tmp_path / "v2.txt")
