"""Early errors: each bad input fails in check_export_inputs_node, before merging or converting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from python_tutor.pipelines.export.nodes import check_export_inputs
from python_tutor.pipelines.export.preflight import ExportInputError


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _run(adapter, base, params):
    scratch = Path("scratch-never-written")  # the checks only read
    return check_export_inputs(adapter, base, scratch, params["converter"], params["conversion"])


def _tiny_base(tokenizer_dir: Path, target: Path, hidden: int, layers: int) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    vocab = len(AutoTokenizer.from_pretrained(tokenizer_dir))
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    LlamaForCausalLM(config).save_pretrained(target)
    return target


def test_a_good_adapter_gives_the_plan(adapter_dir, tiny_llama_dir, export_params):
    plan = _run(adapter_dir, tiny_llama_dir, export_params)
    assert plan["gguf_name"] == "tutor.Q8_0.gguf"
    assert plan["chat_template"].name == "chatml"
    assert plan["lora_modules"] == 4  # q_proj and v_proj in 2 layers
    assert plan["scripts"]["quantize_binary"] is None


def test_missing_converter_names_the_parameter(
    adapter_dir, tiny_llama_dir, export_params, tmp_path
):
    export_params["converter"]["dir"] = str(tmp_path / "nowhere")
    with pytest.raises(ExportInputError, match=r"convert_hf_to_gguf.py.*export.converter.dir"):
        _run(adapter_dir, tiny_llama_dir, export_params)


def test_missing_lora_converter_only_matters_when_asked(tmp_path, export_params):
    from python_tutor.pipelines.export.preflight import check_converter

    (tmp_path / "convert_hf_to_gguf.py").write_text("")
    export_params["converter"]["dir"] = str(tmp_path)
    assert check_converter(export_params["converter"], "q8_0", lora_gguf=False)
    with pytest.raises(ExportInputError, match="convert_lora_to_gguf.py"):
        check_converter(export_params["converter"], "q8_0", lora_gguf=True)


def test_an_outtype_that_needs_llama_quantize_fails_without_it(
    adapter_dir, tiny_llama_dir, export_params
):
    export_params["conversion"]["outtype"] = "q4_k_m"
    export_params["converter"]["quantize_binary"] = "llama-quantize-not-installed"
    with pytest.raises(ExportInputError, match=r"export.outtype: q4_k_m.*quantize_binary"):
        _run(adapter_dir, tiny_llama_dir, export_params)


def test_missing_adapter_config(adapter_dir, tiny_llama_dir, export_params, tmp_path):
    broken = _copy(adapter_dir, tmp_path / "adapter")
    (broken / "adapter_config.json").unlink()
    with pytest.raises(ExportInputError, match=r"Adapter config .*adapter_config.json' is missing"):
        _run(broken, tiny_llama_dir, export_params)


def test_adapter_config_that_is_not_json(adapter_dir, tiny_llama_dir, export_params, tmp_path):
    broken = _copy(adapter_dir, tmp_path / "adapter")
    (broken / "adapter_config.json").write_text("{not json")
    with pytest.raises(ExportInputError, match="is not valid JSON"):
        _run(broken, tiny_llama_dir, export_params)


def test_adapter_that_is_not_lora(adapter_dir, tiny_llama_dir, export_params, tmp_path):
    broken = _copy(adapter_dir, tmp_path / "adapter")
    config = json.loads((broken / "adapter_config.json").read_text())
    (broken / "adapter_config.json").write_text(json.dumps({**config, "peft_type": "IA3"}))
    with pytest.raises(ExportInputError, match="peft_type 'IA3'"):
        _run(broken, tiny_llama_dir, export_params)


def test_truncated_adapter_weights(adapter_dir, tiny_llama_dir, export_params, tmp_path):
    broken = _copy(adapter_dir, tmp_path / "adapter")
    weights = broken / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ExportInputError, match="not a readable safetensors file"):
        _run(broken, tiny_llama_dir, export_params)


def test_missing_adapter_weights(adapter_dir, tiny_llama_dir, export_params, tmp_path):
    broken = _copy(adapter_dir, tmp_path / "adapter")
    (broken / "adapter_model.safetensors").unlink()
    with pytest.raises(ExportInputError, match="Adapter weights .* is missing"):
        _run(broken, tiny_llama_dir, export_params)


def test_base_of_another_hidden_size(adapter_dir, smollm2_tokenizer_dir, export_params, tmp_path):
    base = _tiny_base(smollm2_tokenizer_dir, tmp_path / "base", hidden=32, layers=2)
    with pytest.raises(ExportInputError, match=r"does not fit .*4 of 4 modules.*expects 64x64"):
        _run(adapter_dir, base, export_params)


def test_base_without_the_adapted_modules(
    adapter_dir, smollm2_tokenizer_dir, export_params, tmp_path
):
    base = _tiny_base(smollm2_tokenizer_dir, tmp_path / "base", hidden=64, layers=1)
    with pytest.raises(ExportInputError, match=r"2 of 4 .*layers.1.self_attn.q_proj: not in"):
        _run(adapter_dir, base, export_params)


def test_base_of_another_architecture(adapter_dir, tiny_llama_dir, export_params, tmp_path):
    base = _copy(tiny_llama_dir, tmp_path / "base")
    config = json.loads((base / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "model_type": "qwen2"}))
    with pytest.raises(ExportInputError, match="trained on a 'llama' model.*'qwen2'"):
        _run(adapter_dir, base, export_params)


def test_base_stored_in_4bit_is_refused(adapter_dir, tiny_llama_dir, export_params, tmp_path):
    base = _copy(tiny_llama_dir, tmp_path / "base")
    config = json.loads((base / "config.json").read_text())
    quantization = {"quant_method": "bitsandbytes", "load_in_4bit": True}
    (base / "config.json").write_text(json.dumps({**config, "quantization_config": quantization}))
    with pytest.raises(ExportInputError, match="stored quantized .*16-bit checkpoint"):
        _run(adapter_dir, base, export_params)


def test_provenance_template_must_match_the_tokenizer(
    adapter_dir, tiny_llama_dir, export_params, tmp_path
):
    broken = _copy(adapter_dir, tmp_path / "adapter")
    provenance = json.loads((broken / "provenance.json").read_text())
    (broken / "provenance.json").write_text(
        json.dumps({**provenance, "chat_template": "llama-3.1"})
    )
    with pytest.raises(ExportInputError, match="'llama-3.1' chat template.*'chatml'"):
        _run(broken, tiny_llama_dir, export_params)
