"""Versioned directories of model files (LoRA adapters, merged checkpoints).

Training and conversion libraries only write to local directories, so a node hands this dataset
the directory it produced and the dataset copies it into ``filepath/<version>/<name>``. Loading
returns the local path: Unsloth, PEFT and llama.cpp all open checkpoints by path.

Saves are all or nothing (``atomic``): locally the copy is staged in a hidden sibling, synced,
marked complete (``.complete.json``, written last) and renamed into place; on a remote filesystem
the files are uploaded first and the marker last. Only versions with the marker exist for Kedro
(latest, ``--load-versions``, ``kedro tutor versions``); loading one without it is refused.
"""

from __future__ import annotations

import json
import shutil
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

from .atomic import COMPLETE, check_complete, manifest, staged_directory


class ModelDirectoryDataset(AbstractVersionedDataset[Path, Path]):
    """A directory artifact, saved atomically; ``marker`` names the file that makes it a model.

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
            exists_function=self._is_complete,
            glob_function=self._fs.glob,
        )

    def _is_complete(self, path: str) -> bool:
        return self._fs.exists(f"{path}/{COMPLETE}")

    def load(self) -> Path:
        """The local path of the (latest or pinned) version; remote ones are fetched first.

        Raises:
            DatasetError: no such directory, or one without its completeness marker (an
                interrupted save) or whose files no longer match it; the message names it.
        """
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        if not self._fs.isdir(load_path):
            raise DatasetError(
                f"'{load_path}' does not exist: no {self._marker!r} directory was saved there"
            )
        self._check_complete(load_path)
        if self._protocol == "file":
            return Path(load_path)
        local = Path(tempfile.mkdtemp(prefix="python_tutor_model_"))
        self._fs.get(f"{load_path}/", f"{local}/", recursive=True)  # the contents, not a subfolder
        return local

    def _check_complete(self, path: str) -> None:
        marker = f"{path}/{COMPLETE}"
        recorded = json.loads(self._fs.cat_file(marker)) if self._fs.exists(marker) else None
        root = PurePosixPath(self._fs.info(path)["name"])  # as find() spells it
        files = {
            PurePosixPath(name).relative_to(root).as_posix(): info["size"]
            for name, info in self._fs.find(path, detail=True).items()
            if PurePosixPath(name).name != COMPLETE
        }
        check_complete(files, recorded, path)

    def save(self, data: Path) -> None:
        """Copy the directory ``data`` (which must hold ``marker``) into a new version, whole."""
        source = Path(data)
        if not (source / self._marker).is_file():
            raise DatasetError(
                f"Cannot save '{source}': it has no {self._marker!r}, so it is not a complete "
                "model directory"
            )
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        if self._protocol == "file":
            with staged_directory(Path(save_path), replace=self._version is None) as staging:
                shutil.copytree(source, staging, dirs_exist_ok=True)
        else:  # object stores have no directory rename: upload everything, the marker last
            for file in sorted(p for p in source.rglob("*") if p.is_file()):
                target = f"{save_path}/{file.relative_to(source).as_posix()}"
                self._fs.makedirs(str(PurePosixPath(target).parent), exist_ok=True)
                self._fs.put_file(str(file), target)
            self._fs.pipe_file(f"{save_path}/{COMPLETE}", json.dumps(manifest(source)).encode())
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        """A new version must be visible to the next load in the same session."""
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _exists(self) -> bool:
        try:
            load_path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._is_complete(load_path)

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "marker": self._marker,
            "version": self._version,
        }
