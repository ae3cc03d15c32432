"""Versioned directories of model files (LoRA adapters, merged checkpoints).

Training and conversion libraries only write to local directories, so a node hands this dataset
the directory it produced and the dataset copies it into ``filepath/<version>/<name>``. Loading
returns the local path: Unsloth, PEFT and llama.cpp all open checkpoints by path.
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


class ModelDirectoryDataset(AbstractVersionedDataset[Path, Path]):
    """A directory artifact, present when its marker file is.

    Example catalog entry::

        lora_adapter:
          type: python_tutor.datasets.model_directory.ModelDirectoryDataset
          filepath: data/06_models/lora_adapter
          marker: adapter_config.json
          versioned: true
    """

    def __init__(
        self,
        *,
        filepath: str,
        marker: str = "config.json",
        version: Version | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(fs_args or {}))
        self._marker = marker
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def load(self) -> Path:
        """The local path of the (latest or pinned) version; remote ones are fetched first."""
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        if not self._fs.exists(f"{load_path}/{self._marker}"):
            raise DatasetError(
                f"'{load_path}' is not a complete {self._marker!r} directory "
                "(interrupted save or wrong path)"
            )
        if self._protocol == "file":
            return Path(load_path)
        local = Path(tempfile.mkdtemp(prefix="python_tutor_model_"))
        self._fs.get(load_path, str(local), recursive=True)
        return local

    def save(self, data: Path) -> None:
        """Copy the directory ``data`` into a new version; the marker must be in it."""
        source = Path(data)
        if not (source / self._marker).is_file():
            raise DatasetError(
                f"Cannot save '{source}': it has no {self._marker!r}, so it is not a complete "
                "model directory"
            )
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        self._fs.makedirs(save_path, exist_ok=True)
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            target = f"{save_path}/{file.relative_to(source).as_posix()}"
            self._fs.makedirs(str(PurePosixPath(target).parent), exist_ok=True)
            self._fs.put_file(str(file), target)
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        """A new version must be visible to the next load in the same session."""
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _exists(self) -> bool:
        try:
            load_path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(f"{load_path}/{self._marker}")

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "marker": self._marker,
            "version": self._version,
        }
