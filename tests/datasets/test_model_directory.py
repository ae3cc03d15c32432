"""ModelDirectoryDataset: versioned copies of model directories."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DatasetError
from kedro.io.core import Version

from python_tutor.datasets.model_directory import ModelDirectoryDataset


def make_model_dir(root: Path, weights: bytes) -> Path:
    root.mkdir(parents=True)
    (root / "adapter_config.json").write_text('{"r": 16}')
    (root / "sub").mkdir()
    (root / "sub" / "weights.bin").write_bytes(weights)
    return root


class TestModelDirectoryDataset:
    def test_save_and_load(self, tmp_path):
        source = make_model_dir(tmp_path / "out", b"\x00\x01")
        dataset = ModelDirectoryDataset(
            filepath=str(tmp_path / "store" / "adapter"), marker="adapter_config.json"
        )
        dataset.save(source)
        loaded = dataset.load()
        assert (loaded / "sub" / "weights.bin").read_bytes() == b"\x00\x01"
        assert loaded != source

    def test_exists(self, tmp_path):
        dataset = ModelDirectoryDataset(filepath=str(tmp_path / "a"), marker="adapter_config.json")
        assert not dataset.exists()
        dataset.save(make_model_dir(tmp_path / "out", b""))
        assert dataset.exists()

    def test_load_missing_directory(self, tmp_path):
        dataset = ModelDirectoryDataset(filepath=str(tmp_path / "none"))
        with pytest.raises(DatasetError, match=r"none' does not exist"):
            dataset.load()

    def test_save_refuses_incomplete_directory(self, tmp_path):
        (tmp_path / "out").mkdir()
        dataset = ModelDirectoryDataset(filepath=str(tmp_path / "a"), marker="adapter_config.json")
        with pytest.raises(DatasetError, match="has no 'adapter_config.json'"):
            dataset.save(tmp_path / "out")


class TestModelDirectoryDatasetVersioned:
    def test_two_saves_two_versions_and_pinned_load(self, tmp_path):
        store = str(tmp_path / "store" / "adapter")
        first = ModelDirectoryDataset(
            filepath=store,
            marker="adapter_config.json",
            version=Version(None, "2026-01-01T00.00.00.000Z"),
        )
        first.save(make_model_dir(tmp_path / "one", b"1"))
        second = ModelDirectoryDataset(
            filepath=store,
            marker="adapter_config.json",
            version=Version(None, "2026-01-02T00.00.00.000Z"),
        )
        second.save(make_model_dir(tmp_path / "two", b"2"))
        latest = ModelDirectoryDataset(
            filepath=store, marker="adapter_config.json", version=Version(None, None)
        )
        assert (latest.load() / "sub" / "weights.bin").read_bytes() == b"2"
        pinned = ModelDirectoryDataset(
            filepath=store,
            marker="adapter_config.json",
            version=Version("2026-01-01T00.00.00.000Z", None),
        )
        assert (pinned.load() / "sub" / "weights.bin").read_bytes() == b"1"
        assert pinned.load().parts[-2:] == ("2026-01-01T00.00.00.000Z", "adapter")

    def test_refuses_to_overwrite_a_version(self, tmp_path):
        version = Version(None, "2026-01-01T00.00.00.000Z")
        dataset = ModelDirectoryDataset(
            filepath=str(tmp_path / "a"), marker="adapter_config.json", version=version
        )
        dataset.save(make_model_dir(tmp_path / "one", b"1"))
        with pytest.raises(DatasetError, match="must not exist if versioning is enabled"):
            dataset.save(make_model_dir(tmp_path / "two", b"2"))
