"""The export pipeline end to end on the tiny LLaMA: merge, convert, verify, publish, roll back."""

from __future__ import annotations

import json

import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.io.core import Version
from kedro.runner import SequentialRunner

from python_tutor.datasets.gguf_file import GGUFFileDataset, OllamaModelfileDataset
from python_tutor.datasets.model_directory import ModelDirectoryDataset
from python_tutor.datasets.run_scratch import RunScratchDataset
from python_tutor.modelfile import parse_modelfile
from python_tutor.pipelines.export import create_pipeline
from python_tutor.pipelines.export.fidelity import FidelityError
from tests.adapters import make_adapter

from .conftest import SYSTEM


def _catalog(tmp_path, tiny_llama_dir, tutor_val, params, adapter_version):
    catalog = DataCatalog(
        {
            "lora_adapter": ModelDirectoryDataset(
                filepath=str(tmp_path / "lora_adapter"),
                marker="adapter_config.json",
                version=Version(adapter_version, None),
            ),
            "base_model": MemoryDataset(tiny_llama_dir),
            "export_scratch": RunScratchDataset(path=str(tmp_path / "scratch")),
            "tutor_val": MemoryDataset(tutor_val),
            "merged_model": ModelDirectoryDataset(
                filepath=str(tmp_path / "merged_model"), version=Version(None, None)
            ),
            "gguf_model": GGUFFileDataset(
                filepath=str(tmp_path / "tutor" / "tutor.Q8_0.gguf"), version=Version(None, None)
            ),
            "ollama_modelfile": OllamaModelfileDataset(
                filepath=str(tmp_path / "tutor" / "Modelfile"), version=Version(None, None)
            ),
            "lora_gguf": ModelDirectoryDataset(
                filepath=str(tmp_path / "lora_gguf"),
                marker="lora_export.json",
                version=Version(None, None),
            ),
            "export_report": MemoryDataset(),
        }
    )
    for key in ("converter", "conversion", "merge", "modelfile", "fidelity"):
        catalog[f"params:export.{key}"] = params[key]
    return catalog


@pytest.mark.slow
def test_exports_an_older_adapter_to_a_verified_gguf_with_its_modelfile(
    tmp_path, tiny_llama_dir, tutor_val, export_params
):
    """Two adapter versions; --load-versions-style pin on the older one (rollback)."""
    versions = []
    for seed in (1, 2):
        version = f"2026-11-29T0{seed}.00.00.000Z"
        dataset = ModelDirectoryDataset(
            filepath=str(tmp_path / "lora_adapter"),
            marker="adapter_config.json",
            version=Version(None, version),
        )
        dataset.save(make_adapter(tiny_llama_dir, tmp_path / f"adapter{seed}", seed=seed))
        versions.append(version)
    export_params["conversion"]["export_lora_gguf"] = True
    catalog = _catalog(tmp_path, tiny_llama_dir, tutor_val, export_params, versions[0])

    SequentialRunner().run(create_pipeline(), catalog)

    report = catalog["export_report"].load()
    assert versions[0] in report["adapter"]
    assert report["fidelity"]["next_token_agreement"] >= 0.9
    assert report["fidelity"]["same_prompt_text"] == len(tutor_val)
    assert report["gguf"]["gguf_bytes"] > 0 and report["merge"]["max_weight_change"] > 0
    assert report["lora_gguf"]["exported"] is True
    gguf = catalog["gguf_model"].load()
    modelfile = parse_modelfile(catalog["ollama_modelfile"].load())
    # One version folder holds both, and FROM names the GGUF beside the Modelfile.
    assert (gguf.parent / modelfile["from"]).resolve() == gguf.resolve()
    assert modelfile["system"] == SYSTEM
    assert modelfile["stop"] == ["<|im_end|>", "<|im_start|>"]
    lora_gguf = catalog["lora_gguf"].load() / "tutor-lora.F16.gguf"
    assert lora_gguf.read_bytes()[:4] == b"GGUF"
    json.dumps(report, default=str)


@pytest.mark.slow
def test_a_gguf_failing_the_fidelity_check_is_not_published(exported, tutor_val, tmp_path):
    catalog = DataCatalog(
        {
            "converted_gguf": MemoryDataset(exported["wrong_gguf"]),
            "merged_model": MemoryDataset(exported["merged"]),
            "export_plan": MemoryDataset(exported["plan"], copy_mode="assign"),
            "tutor_val": MemoryDataset(tutor_val),
            "merge_stats": MemoryDataset(exported["merge_stats"]),
            "conversion_stats": MemoryDataset(exported["conversion_stats"]),
            "lora_conversion_stats": MemoryDataset({"exported": False}),
            "gguf_model": GGUFFileDataset(
                filepath=str(tmp_path / "tutor" / "tutor.Q8_0.gguf"), version=Version(None, None)
            ),
            "ollama_modelfile": OllamaModelfileDataset(
                filepath=str(tmp_path / "tutor" / "Modelfile"), version=Version(None, None)
            ),
            "export_report": MemoryDataset(),
        }
    )
    for key in ("modelfile", "fidelity"):
        catalog[f"params:export.{key}"] = exported["params"][key]
    pipeline = create_pipeline().from_nodes("check_gguf_fidelity_node")

    with pytest.raises(FidelityError, match="next_token_agreement"):
        SequentialRunner().run(pipeline, catalog)
    assert not catalog["gguf_model"].exists()
    assert not catalog["ollama_modelfile"].exists()
