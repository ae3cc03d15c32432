"""The wiring matches the configuration: saved outputs are catalogued, parameters exist."""

from __future__ import annotations

import yaml

from python_tutor.pipelines.export import create_pipeline

SAVED = {"merged_model", "gguf_model", "ollama_modelfile", "lora_gguf", "export_report"}


def _yaml(project_root, name):
    return yaml.safe_load((project_root / "conf" / "base" / name).read_text(encoding="utf-8"))


def test_saved_outputs_are_catalogued_with_a_layer(project_root):
    catalog = _yaml(project_root, "catalog_export.yml")
    outputs = create_pipeline().all_outputs()
    assert SAVED <= outputs
    for name in SAVED:
        assert catalog[name]["versioned"] is True
        assert catalog[name]["metadata"]["kedro-viz"]["layer"]
    # The GGUF and its Modelfile share one version folder.
    gguf, modelfile = (catalog[n]["filepath"] for n in ("gguf_model", "ollama_modelfile"))
    assert gguf.rsplit("/", 1)[0] == modelfile.rsplit("/", 1)[0]


def test_every_parameter_block_the_nodes_read_exists(project_root):
    params = _yaml(project_root, "parameters_export.yml")
    for name in create_pipeline().inputs():
        if name.startswith("params:"):
            block = params
            for key in name.removeprefix("params:").split("."):
                block = block[key]
            assert isinstance(block, dict)


def test_default_gguf_file_name_follows_the_default_outtype(project_root):
    from python_tutor.pipelines.export.convert import gguf_file_name

    conversion = _yaml(project_root, "parameters_export.yml")["export"]["conversion"]
    filepath = _yaml(project_root, "catalog_export.yml")["gguf_model"]["filepath"]
    assert filepath.endswith("/" + gguf_file_name(conversion["file_stem"], conversion["outtype"]))
