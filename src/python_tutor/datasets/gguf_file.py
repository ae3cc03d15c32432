"""A GGUF model and its Ollama Modelfile, versioned together in one folder.

Ollama resolves a Modelfile's ``FROM ./tutor.Q8_0.gguf`` against the Modelfile's own folder, so
the cleanest way to keep the two "versioned with each other" is to give them the same version
folder: both datasets here store ``<folder>/<version>/<name>`` (where Kedro's default is
``<folder>/<name>/<version>/<name>``). A ``kedro run`` saves all outputs with one save version,
so one export lands as::

    data/06_models/tutor/2026-11-29T02.10.00.000Z/tutor.Q8_0.gguf
    data/06_models/tutor/2026-11-29T02.10.00.000Z/Modelfile

and ``cd`` into that folder then ``ollama create tutor -f Modelfile`` works as is.

Each file is written under a hidden temporary name beside its final one, synced, then renamed
(``atomic``), so the final name only ever holds a complete file; a rename is the marker here.
On a remote filesystem a single-object upload is all or nothing already.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)

from . import atomic

GGUF_MAGIC = b"GGUF"


class _SiblingVersionedDataset(AbstractVersionedDataset):
    """Versioned as ``<parent>/<version>/<name>``, so datasets of one folder share versions."""

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        optional: bool = False,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        # optional: loading before any export gives None (evaluation then reports "not measured")
        self._optional = optional
        self._fs = fsspec.filesystem(protocol, **(fs_args or {}))
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _get_versioned_path(self, version: str) -> PurePosixPath:
        # The parent's checks (unsafe version strings) still apply; only the layout changes.
        default = super()._get_versioned_path(version)
        return self._filepath.parent / default.parent.name / self._filepath.name

    def _load_path(self) -> str:
        return get_filepath_str(self._get_load_path(), self._protocol)

    def _save_path(self) -> str:
        path = get_filepath_str(self._get_save_path(), self._protocol)
        self._fs.makedirs(str(PurePosixPath(path).parent), exist_ok=True)
        return path

    def _invalidate_cache(self) -> None:
        """A new version must be visible to the next load in the same session."""
        self._fs.invalidate_cache(get_filepath_str(self._filepath.parent, self._protocol))

    def _exists(self) -> bool:
        try:
            return self._fs.exists(self._load_path())
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "version": self._version,
            "optional": self._optional,
        }


class GGUFFileDataset(_SiblingVersionedDataset):
    """A ``.gguf`` file: saved from the local path the converter wrote, loaded as a local path.

    The catalog file name is the product's name, so a file of another name (another
    ``outtype``) is refused rather than silently renamed.

    Example catalog entry::

        gguf_model:
          type: python_tutor.datasets.gguf_file.GGUFFileDataset
          filepath: data/06_models/tutor/tutor.Q8_0.gguf
          versioned: true
    """

    def load(self) -> Path | None:
        """The local path of the (latest or pinned) version; remote files are fetched first.

        None when the dataset is ``optional`` and nothing was exported yet.
        """
        if self._optional and not self._exists():
            return None
        path = self._load_path()
        if not self._fs.exists(path):
            raise DatasetError(f"No GGUF file at '{path}'")
        if self._protocol == "file":
            return Path(path)
        local = Path(tempfile.mkdtemp(prefix="python_tutor_gguf_")) / self._filepath.name
        self._fs.get(path, str(local))
        return local

    def save(self, data: Path) -> None:
        """Copy the GGUF file ``data`` into a new version."""
        source = Path(data)
        if source.name != self._filepath.name:
            raise DatasetError(
                f"The catalog entry names the GGUF '{self._filepath.name}' but the file to save "
                f"is '{source.name}' (another outtype?); change `filepath` to match it."
            )
        with source.open("rb") as handle:
            if handle.read(4) != GGUF_MAGIC:
                raise DatasetError(f"Cannot save '{source}': it is not a GGUF file")
        if self._protocol == "file":
            atomic.copy_file(source, Path(self._save_path()), replace=self._version is None)
        else:
            self._fs.put_file(str(source), self._save_path())
        self._invalidate_cache()


class OllamaModelfileDataset(_SiblingVersionedDataset):
    """An Ollama Modelfile (text), stored in the version folder of the GGUF it names.

    Keep ``filepath`` in the same folder as the GGUF's and ``FROM`` relative (``./name.gguf``):
    the node that writes the Modelfile knows the file name, this dataset supplies the folder.

    Example catalog entry::

        ollama_modelfile:
          type: python_tutor.datasets.gguf_file.OllamaModelfileDataset
          filepath: data/06_models/tutor/Modelfile
          versioned: true
    """

    def load(self) -> str | None:
        """The Modelfile text; None when ``optional`` and nothing was exported yet."""
        if self._optional and not self._exists():
            return None
        path = self._load_path()
        if not self._fs.exists(path):
            raise DatasetError(f"No Modelfile at '{path}'")
        with self._fs.open(path, "r", encoding="utf-8") as handle:
            return handle.read()

    def save(self, data: str) -> None:
        """Write the Modelfile text into a new version; it must start from a model."""
        if not any(line.startswith("FROM ") for line in data.splitlines()):
            raise DatasetError("Cannot save a Modelfile without a FROM line")
        if self._protocol == "file":
            atomic.write_text(Path(self._save_path()), data, replace=self._version is None)
        else:
            with self._fs.open(self._save_path(), "w", encoding="utf-8") as handle:
                handle.write(data)
        self._invalidate_cache()
