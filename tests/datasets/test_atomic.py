"""All-or-nothing saves: a save killed midway (SIGKILL in a child process) never leaves a
version that loads; the previous complete version is what the next load gets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kedro.io.core import DatasetError, Version

from python_tutor.datasets import atomic
from python_tutor.datasets.gguf_file import GGUFFileDataset
from python_tutor.datasets.model_directory import ModelDirectoryDataset
from python_tutor.versions import list_versions

V1, V2, V3 = "2026-12-01T00.00.00.000Z", "2026-12-02T00.00.00.000Z", "2026-12-03T00.00.00.000Z"
WEIGHTS = 4 * 1024 * 1024

# The child saves through the real dataset; every file copy goes through shutil.copyfile (the
# dataset's and fsspec's local copy alike). The copy of the weights stops halfway, says so and
# waits: the parent kills it there, with half the weights written, like a crash or the OOM killer.
CHILD = """
import shutil, sys, time
from pathlib import Path
from kedro.io.core import Version
from python_tutor.datasets.gguf_file import GGUFFileDataset
from python_tutor.datasets.model_directory import ModelDirectoryDataset

kind, store, source, version, weights = sys.argv[1:6]
real_copyfile = shutil.copyfile

def copy_half_then_hang(src, dst, *args, **kwargs):
    if Path(src).name != weights:
        return real_copyfile(src, dst, *args, **kwargs)
    data = Path(src).read_bytes()
    with open(dst, "wb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
    print("HALFWAY", flush=True)
    time.sleep(600)

shutil.copyfile = copy_half_then_hang
if kind == "directory":
    dataset = ModelDirectoryDataset(
        filepath=store, marker="adapter_config.json", version=Version(None, version)
    )
else:
    dataset = GGUFFileDataset(filepath=store, version=Version(None, version))
dataset.save(Path(source))
print("FINISHED", flush=True)
"""


def adapter(root: Path, fill: int) -> Path:
    """A PEFT-shaped adapter folder: the config sorts before the (large) weights."""
    root.mkdir(parents=True)
    (root / "adapter_config.json").write_text(json.dumps({"r": 16, "peft_type": "LORA"}))
    (root / "adapter_model.safetensors").write_bytes(bytes([fill]) * WEIGHTS)
    (root / "tokenizer_config.json").write_text("{}")
    return root


def gguf(root: Path, fill: int) -> Path:
    root.mkdir(parents=True)
    path = root / "tutor.Q8_0.gguf"
    path.write_bytes(b"GGUF" + bytes([fill]) * WEIGHTS)
    return path


def kill_halfway(tmp_path: Path, kind: str, store: Path, source: Path, weights: str) -> None:
    """Run the child's save of version V2 and SIGKILL it with half the weights written."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, str(script), kind, str(store), str(source), V2, weights],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "HALFWAY", f"the save never reached its weights: {line!r}"
        written = [p for p in (tmp_path / "06_models").rglob("*") if p.is_file()]
        assert any(p.stat().st_size == (WEIGHTS + 4 * (kind == "gguf")) // 2 for p in written)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def test_a_killed_directory_save_leaves_the_previous_version_loaded(tmp_path):
    store = tmp_path / "06_models" / "lora_adapter"

    def dataset(load: str | None = None, save: str | None = None) -> ModelDirectoryDataset:
        return ModelDirectoryDataset(
            filepath=str(store), marker="adapter_config.json", version=Version(load, save)
        )

    dataset(save=V1).save(adapter(tmp_path / "one", fill=1))
    kill_halfway(
        tmp_path, "directory", store, adapter(tmp_path / "two", fill=2), "adapter_model.safetensors"
    )

    assert (store / V2).is_dir()  # the killed save did start writing version 2
    latest = dataset().load()
    assert latest == store / V1 / "lora_adapter"
    assert (latest / "adapter_model.safetensors").read_bytes() == bytes([1]) * WEIGHTS
    assert dataset().exists()
    assert [info.version for info in list_versions("lora_adapter", dataset())] == [V1]
    with pytest.raises(DatasetError, match=rf"{V2}/lora_adapter' does not exist"):
        dataset(load=V2).load()
    # the next run saves and loads normally despite the leftover
    dataset(save=V3).save(adapter(tmp_path / "three", fill=3))
    assert (dataset().load() / "adapter_model.safetensors").read_bytes()[:1] == b"\x03"


def test_a_killed_gguf_save_leaves_the_previous_version_loaded(tmp_path):
    store = tmp_path / "06_models" / "tutor" / "tutor.Q8_0.gguf"
    GGUFFileDataset(filepath=str(store), version=Version(None, V1)).save(
        gguf(tmp_path / "one", fill=1)
    )
    kill_halfway(tmp_path, "gguf", store, gguf(tmp_path / "two", fill=2), "tutor.Q8_0.gguf")

    latest = GGUFFileDataset(filepath=str(store), version=Version(None, None)).load()
    assert latest == store.parent / V1 / "tutor.Q8_0.gguf"
    assert latest.read_bytes() == b"GGUF" + bytes([1]) * WEIGHTS
    with pytest.raises(DatasetError, match="No GGUF file"):
        GGUFFileDataset(filepath=str(store), version=Version(V2, None)).load()


class TestCompleteness:
    def test_a_version_without_its_marker_is_skipped_and_refused_by_name(self, tmp_path):
        store = tmp_path / "lora_adapter"
        for version, fill in ((V1, 1), (V2, 2)):
            ModelDirectoryDataset(
                filepath=str(store), marker="adapter_config.json", version=Version(None, version)
            ).save(adapter(tmp_path / version, fill))
        (store / V2 / "lora_adapter" / atomic.COMPLETE).unlink()  # as saved before this change

        latest = ModelDirectoryDataset(filepath=str(store), version=Version(None, None))
        assert latest.load() == store / V1 / "lora_adapter"
        pinned = ModelDirectoryDataset(filepath=str(store), version=Version(V2, None))
        with pytest.raises(DatasetError, match=rf"'{store / V2 / 'lora_adapter'}' is incomplete"):
            pinned.load()
        assert not pinned.exists()

    def test_a_file_changed_after_saving_is_refused(self, tmp_path):
        dataset = ModelDirectoryDataset(filepath=str(tmp_path / "a"), marker="adapter_config.json")
        dataset.save(adapter(tmp_path / "one", fill=1))
        with (tmp_path / "a" / "adapter_model.safetensors").open("r+b") as handle:
            handle.truncate(10)
        with pytest.raises(DatasetError, match="adapter_model.safetensors missing, extra or"):
            dataset.load()

    def test_the_marker_lists_every_file_and_its_size(self, tmp_path):
        dataset = ModelDirectoryDataset(filepath=str(tmp_path / "a"), marker="adapter_config.json")
        dataset.save(adapter(tmp_path / "one", fill=1))
        marker = json.loads((tmp_path / "a" / atomic.COMPLETE).read_text())
        assert marker["files"]["adapter_model.safetensors"] == WEIGHTS
        assert set(marker["files"]) == {
            "adapter_config.json",
            "adapter_model.safetensors",
            "tokenizer_config.json",
        }

    def test_an_unversioned_save_replaces_the_previous_one_whole(self, tmp_path):
        dataset = ModelDirectoryDataset(filepath=str(tmp_path / "a"), marker="adapter_config.json")
        dataset.save(adapter(tmp_path / "one", fill=1))
        second = adapter(tmp_path / "two", fill=2)
        (second / "tokenizer_config.json").unlink()
        dataset.save(second)
        assert sorted(p.name for p in dataset.load().iterdir()) == [
            atomic.COMPLETE,
            "adapter_config.json",
            "adapter_model.safetensors",
        ]
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    def test_a_remote_filesystem_gets_the_marker_last(self, tmp_path):
        dataset = ModelDirectoryDataset(
            filepath="memory://store/lora_adapter",
            marker="adapter_config.json",
            version=Version(None, V1),
        )
        dataset.save(adapter(tmp_path / "one", fill=1))
        loaded = ModelDirectoryDataset(
            filepath="memory://store/lora_adapter", version=Version(None, None)
        ).load()
        assert (loaded / "adapter_model.safetensors").read_bytes() == bytes([1]) * WEIGHTS


class TestStagedWrites:
    def test_a_failed_write_leaves_the_old_file_and_no_leftover(self, tmp_path):
        target = tmp_path / "record.json"
        target.write_text("old")
        with pytest.raises(RuntimeError), atomic.staged_file(target) as staging:
            staging.write_text("half")
            raise RuntimeError("killed")
        assert target.read_text() == "old"
        assert list(tmp_path.iterdir()) == [target]

    def test_a_versioned_file_is_never_overwritten(self, tmp_path):
        target = tmp_path / "Modelfile"
        atomic.write_text(target, "FROM ./a.gguf", replace=False)
        with pytest.raises(DatasetError, match="never overwritten"):
            atomic.write_text(target, "FROM ./b.gguf", replace=False)
        assert target.read_text() == "FROM ./a.gguf"
        assert list(tmp_path.iterdir()) == [target]

    def test_a_versioned_directory_is_never_merged_into(self, tmp_path):
        target = tmp_path / "model"
        with atomic.staged_directory(target, replace=False) as staging:
            (staging / "a.bin").write_bytes(b"a")
        with pytest.raises(DatasetError, match="never overwritten"):
            with atomic.staged_directory(target, replace=False) as staging:
                (staging / "b.bin").write_bytes(b"b")
        assert sorted(p.name for p in target.iterdir()) == [atomic.COMPLETE, "a.bin"]
        assert list(tmp_path.iterdir()) == [target]
