"""Run hooks: lineage records, a run reading back its own versions, per-run scratch clean-up."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

from kedro.io import DataCatalog
from kedro.io.core import AbstractVersionedDataset, Version

from python_tutor.datasets.run_scratch import RunScratchDataset
from python_tutor.hooks import LineageHooks, OwnVersionsHooks, ScratchHooks
from python_tutor.versions import read_lineage


class SharedFolderDataset(AbstractVersionedDataset[str, str]):
    """Saves ``<folder>/<version>/<name>``: two of them share each version folder."""

    def __init__(self, folder: Path, name: str, version: Version) -> None:
        super().__init__(PurePosixPath(folder / name), version)
        self._folder, self._name = folder, name

    def _get_versioned_path(self, version: str) -> PurePosixPath:
        return PurePosixPath(self._folder / version / self._name)

    def load(self) -> str:
        return Path(str(self._get_load_path())).read_text()

    def save(self, data: str) -> None:
        path = Path(str(self._get_versioned_path(self.resolve_save_version())))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data)

    def _describe(self) -> dict:
        return {"name": self._name}


def test_datasets_sharing_a_version_folder_share_one_record(tmp_path):
    version = Version(None, "2026-01-01T00.00.00.000Z")
    SharedFolderDataset(tmp_path / "src", "in.txt", Version(None, "2025-12-31T00.00.00.000Z")).save(
        "input"
    )
    source = SharedFolderDataset(tmp_path / "src", "in.txt", version)
    gguf = SharedFolderDataset(tmp_path / "tutor", "tutor.gguf", version)
    modelfile = SharedFolderDataset(tmp_path / "tutor", "Modelfile", version)
    catalog = DataCatalog({"source": source, "gguf": gguf, "modelfile": modelfile})
    node = SimpleNamespace(name="publish_node", inputs=["source", "params:export"])

    hooks = LineageHooks()
    hooks.after_catalog_created(catalog)
    hooks.before_node_run(node, catalog, {"source": "input", "params:export": {"q": "q8_0"}})
    for name in ("gguf", "modelfile"):
        catalog.get(name).save(name)
        hooks.after_dataset_saved(name, node)

    record = read_lineage(gguf, "2026-01-01T00.00.00.000Z")
    assert record == read_lineage(modelfile, "2026-01-01T00.00.00.000Z")
    assert record["datasets"] == ["gguf", "modelfile"]
    assert record["inputs"] == {"source": "2025-12-31T00.00.00.000Z"}
    assert record["parameters"] == {"params:export": {"q": "q8_0"}}
    assert json.loads(
        (tmp_path / "tutor" / "2026-01-01T00.00.00.000Z" / "_lineage.json").read_text()
    )


def test_a_run_reads_back_its_own_version_not_a_concurrent_newer_one(tmp_path):
    def run_catalog(save_version: str) -> DataCatalog:
        dataset = SharedFolderDataset(tmp_path, "adapter", Version(None, save_version))
        return DataCatalog({"adapter": dataset})

    first, second = run_catalog("2026-01-01T00.00.00.000Z"), run_catalog("2026-01-01T00.00.01.000Z")
    hooks = OwnVersionsHooks()
    hooks.after_catalog_created(first)
    first.get("adapter").save("trained by the first run")
    hooks.after_dataset_saved("adapter")
    second.get("adapter").save("trained by the second run")  # a moment later, another process

    assert first.load("adapter") == "trained by the first run"
    assert second.load("adapter") == "trained by the second run"  # "latest" for everyone else


def test_a_successful_run_removes_its_scratch_and_a_failed_one_keeps_it(tmp_path):
    def run_scratch() -> tuple[DataCatalog, Path]:
        catalog = DataCatalog({"export_scratch": RunScratchDataset(path=str(tmp_path))})
        folder = catalog.load("export_scratch")
        (folder / "merged").mkdir()
        return catalog, folder

    succeeded, spent = run_scratch()
    failed, kept = run_scratch()
    assert spent != kept and spent.parent == kept.parent == tmp_path

    ScratchHooks().after_pipeline_run(succeeded)
    ScratchHooks().on_pipeline_error(failed)

    assert not spent.exists()
    assert (kept / "merged").is_dir()
