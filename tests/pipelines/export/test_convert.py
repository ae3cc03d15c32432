"""Merging and converting: the merged checkpoint is the adapted model; converter commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from python_tutor.pipelines.export.convert import (
    ConversionError,
    convert_adapter,
    convert_checkpoint,
    gguf_file_name,
)

# Stands in for convert_hf_to_gguf.py / llama-quantize: records its arguments in the output.
STUB = """#!{python}
import json, sys
args = sys.argv[1:]
out = args[args.index("--outfile") + 1] if "--outfile" in args else args[1]
open(out, "wb").write(b"GGUF" + json.dumps(args).encode())
"""


def _stub(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text(STUB.format(python=sys.executable))
    path.chmod(0o755)
    return path


def test_file_name_follows_the_outtype():
    assert gguf_file_name("tutor", "q8_0") == "tutor.Q8_0.gguf"
    assert gguf_file_name("tutor-lora", "f16") == "tutor-lora.F16.gguf"


def test_converter_outtypes_run_the_converter_once(tmp_path):
    script = _stub(tmp_path, "convert_hf_to_gguf.py")
    outfile = tmp_path / "tutor.BF16.gguf"
    convert_checkpoint(str(script), tmp_path / "merged", outfile, "bf16")
    args = json.loads(outfile.read_bytes()[4:])
    assert args == [str(tmp_path / "merged"), "--outtype", "bf16", "--outfile", str(outfile)]


def test_other_outtypes_go_through_f16_and_llama_quantize(tmp_path):
    script = _stub(tmp_path, "convert_hf_to_gguf.py")
    quantize = _stub(tmp_path, "llama-quantize")
    outfile = tmp_path / "tutor.Q4_K_M.gguf"
    convert_checkpoint(
        str(script), tmp_path / "merged", outfile, "q4_k_m", quantize_binary=str(quantize)
    )
    intermediate = str(tmp_path / "intermediate.F16.gguf")
    assert json.loads(outfile.read_bytes()[4:]) == [intermediate, str(outfile), "Q4_K_M"]
    assert not Path(intermediate).exists()


def test_lora_converter_gets_the_base(tmp_path):
    script = _stub(tmp_path, "convert_lora_to_gguf.py")
    outfile = tmp_path / "tutor-lora.F16.gguf"
    convert_adapter(str(script), tmp_path / "adapter", tmp_path / "base", outfile, "f16")
    args = json.loads(outfile.read_bytes()[4:])
    assert args[:3] == [str(tmp_path / "adapter"), "--base", str(tmp_path / "base")]


def test_a_failing_converter_reports_its_output(export_params, tmp_path):
    """The real converter on a directory that is not a checkpoint."""
    script = str(Path(export_params["converter"]["dir"]) / "convert_hf_to_gguf.py")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConversionError, match=r"convert_hf_to_gguf failed \(exit 1\):\n"):
        convert_checkpoint(script, tmp_path / "empty", tmp_path / "x.Q8_0.gguf", "q8_0")


@pytest.mark.slow
def test_merged_checkpoint_is_the_adapted_model_in_16_bit(exported, adapter_dir, tiny_llama_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    merged_dir = exported["merged"]
    config = json.loads((merged_dir / "config.json").read_text())
    assert config["dtype"] == "bfloat16"
    assert exported["merge_stats"]["max_weight_change"] > 0.01
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    assert tokenizer.chat_template == exported["plan"]["chat_template"].jinja

    ids = torch.tensor([tokenizer("¿Qué es una lista?")["input_ids"]])
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32)
    with torch.no_grad():
        plain = base(ids).logits
        adapted = PeftModel.from_pretrained(base, adapter_dir)(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)(ids).logits
    assert (adapted - plain).abs().max() > 0.1  # the adapter matters...
    assert (merged - adapted).abs().max() < 0.05  # ...and the merge keeps it (bf16 rounding)
    assert exported["conversion_stats"]["gguf_bytes"] > 0


def test_lora_gguf_switched_off_still_records_the_run(tmp_path):
    from python_tutor.pipelines.export.nodes import convert_lora_adapter

    plan = {"scratch_dir": str(tmp_path), "export_lora_gguf": False}
    folder, record = convert_lora_adapter(plan)
    assert record["exported"] is False
    assert json.loads((folder / "lora_export.json").read_text()) == record
    assert not list(folder.glob("*.gguf"))


@pytest.mark.slow
@pytest.mark.parametrize(("cpu_bf16", "computed"), [(True, "bf16"), (False, "fp32")])
def test_merge_computes_in_the_resolved_precision_and_stores_save_dtype(
    exported, export_params, tmp_path, monkeypatch, cpu_bf16, computed
):
    from python_tutor import precision
    from python_tutor.pipelines.export.nodes import merge_lora_adapter

    support = precision.NativeSupport(
        cuda=False, cuda_bf16=False, cpu_bf16=cpu_bf16, cpu_fp16=False
    )
    monkeypatch.setattr(precision, "probe", lambda: support)
    plan = {**exported["plan"], "scratch_dir": str(tmp_path)}
    merge = {**export_params["merge"], "compute_dtype": "auto"}
    merged_dir, stats = merge_lora_adapter(plan, merge)
    assert stats["compute_precision"]["precision"] == computed
    assert stats["max_weight_change"] > 0.01
    assert json.loads((merged_dir / "config.json").read_text())["dtype"] == "bfloat16"
