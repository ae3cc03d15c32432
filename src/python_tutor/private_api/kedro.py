"""Kedro's private versioning API (kedro 1.7), for the rollback pins and the lineage records.

``AbstractVersionedDataset`` has no public way to ask where a given version lives, nor to
switch the version a dataset loads after the catalog built it (``--load-versions`` does that
only at session start). Both are one underscored member away:

- ``_get_versioned_path(version)``: the path of ``version`` in the dataset's own layout. Its
  ``_get_load_path``/``_get_save_path`` go through it too, which is why
  ``datasets.gguf_file`` overrides it to store ``<folder>/<version>/<name>``.
- ``_version``: the ``Version(load, save)`` the dataset was built with (None when unversioned).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from kedro.io.core import AbstractVersionedDataset, Version


def versioned_path(dataset: AbstractVersionedDataset, version: str) -> PurePosixPath:
    """The file (or directory) of ``version`` in the dataset's own layout."""
    return dataset._get_versioned_path(version)  # noqa: SLF001


def set_load_version(dataset: AbstractVersionedDataset, version: str) -> None:
    """Make ``dataset`` load ``version`` from now on; the save version is kept."""
    dataset._version = Version(version, dataset._version.save)  # noqa: SLF001
