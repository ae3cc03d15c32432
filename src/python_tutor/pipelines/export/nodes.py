"""Export nodes: check, merge, convert with llama.cpp, verify in llama.cpp, then publish.

The GGUF only becomes the versioned ``gguf_model`` after the fidelity check passed, so a bad
conversion never turns into the "latest" model that evaluation or users pick up.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from python_tutor.chat_templates import MODEL, apply_chat_template, resolve_chat_template
from python_tutor.machine import cpu
from python_tutor.modelfile import render_modelfile
from python_tutor.pipelines.training.conversations import check_conversations, content_sha256
from python_tutor.precision import resolve_precision

from .convert import convert_adapter, convert_checkpoint, gguf_file_name
from .fidelity import enforce_thresholds, measure_fidelity, system_prompt_of, validation_prompts
from .preflight import ExportInputError, check_adapter, check_base_matches, check_converter

logger = logging.getLogger(__name__)

MERGED_SUBDIR = "merged"
GGUF_SUBDIR = "gguf"
LORA_SUBDIR = "lora_gguf"
LORA_RECORD = "lora_export.json"


def _size(path: Path) -> int:
    path = Path(path)
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*"))


def _fresh(directory: Path) -> Path:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def check_export_inputs(
    lora_adapter: Path,
    base_model: Path,
    scratch: Path,
    converter: Mapping[str, Any],
    conversion: Mapping[str, Any],
) -> dict[str, Any]:
    """Everything that can be wrong before the long work: converter, adapter, base, template.

    The chat template is the one training saved with the adapter's tokenizer; its family must
    be the one ``provenance.json`` records. ``scratch`` is this run's own folder
    (``export_scratch``) where the merged checkpoint and the GGUFs are written before the
    versioned datasets copy them.

    Returns:
        The export plan the later nodes follow (paths, scripts, template, file names).

    Raises:
        ExportInputError: missing converter or quantize tool, corrupt adapter, or an adapter
            that does not fit the base model.
    """
    from transformers import AutoTokenizer  # noqa: PLC0415 - heavy, only when the node runs

    outtype = str(conversion["outtype"]).lower()
    lora_gguf = bool(conversion["export_lora_gguf"])
    scripts = check_converter(converter, outtype, lora_gguf)
    adapter = check_adapter(lora_adapter)
    base_config = check_base_matches(adapter, base_model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(lora_adapter)
    except (OSError, ValueError) as error:
        raise ExportInputError(f"Adapter '{lora_adapter}' has no loadable tokenizer: {error}")
    template = resolve_chat_template(MODEL, tokenizer)
    recorded = adapter["provenance"].get("chat_template")
    if recorded and recorded != template.name:
        raise ExportInputError(
            f"Adapter '{lora_adapter}': provenance.json says it was trained with the "
            f"{recorded!r} chat template, but its tokenizer holds a {template.name!r} one"
        )
    logger.info(
        "Exporting adapter %s (%d LoRA modules) on base %s as %s",
        lora_adapter,
        len(adapter["modules"]),
        base_model,
        outtype,
    )
    return {
        "adapter_dir": str(lora_adapter),
        "base_dir": str(base_model),
        "model_type": base_config.get("model_type"),
        "lora_modules": len(adapter["modules"]),
        "lora_targets": sorted(adapter["modules"]),
        "tutor_val_sha256": _recorded_sha256(adapter["provenance"], "tutor_val"),
        "lora_rank": adapter["config"].get("r"),
        "chat_template": template,
        "outtype": outtype,
        "gguf_name": gguf_file_name(conversion["file_stem"], outtype),
        "export_lora_gguf": lora_gguf,
        "lora_outtype": str(conversion["lora_outtype"]).lower(),
        "lora_gguf_name": gguf_file_name(
            f"{conversion['file_stem']}-lora", conversion["lora_outtype"]
        ),
        "scripts": scripts,
        "python": converter.get("python"),
        "scratch_dir": str(scratch),
    }


def _recorded_sha256(provenance: Mapping[str, Any], dataset: str) -> str | None:
    """The fingerprint training recorded for ``dataset`` (provenance ``data.<name>.sha256``)."""
    record = (provenance.get("data") or {}).get(dataset) or {}
    return record.get("sha256")


def merge_lora_adapter(
    export_plan: Mapping[str, Any], merge: Mapping[str, Any]
) -> tuple[Path, dict[str, Any]]:
    """Merge the LoRA into a 16-bit copy of its base and save a plain HF checkpoint.

    The base is always (re)loaded from its 16-bit checkpoint, never from the 4-bit weights
    training may have used, the way Unsloth's ``merged_16bit`` does: merging into quantized
    weights would bake the quantization error into the product. The merge is computed in the
    precision ``compute_dtype`` resolves to (python_tutor.precision) and saved in
    ``save_dtype`` (the stored dtype, whatever the machine), with the tokenizer and the
    trained template.

    Returns:
        The merged checkpoint directory and its figures (size, dtype, largest weight change).
    """
    import torch  # noqa: PLC0415 - heavy imports only when the node runs
    from peft import PeftModel  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    target = _fresh(Path(export_plan["scratch_dir"]) / MERGED_SUBDIR)
    precision = resolve_precision(merge["compute_dtype"], "export.merge.compute_dtype")
    base = AutoModelForCausalLM.from_pretrained(
        export_plan["base_dir"], dtype=getattr(torch, precision.torch_name)
    )
    # Only the adapted weights can change: keep copies of those alone (memory of a 1B+ model).
    state = base.state_dict()
    weights = [f"{m}.weight" for m in export_plan["lora_targets"] if f"{m}.weight" in state]
    before = {name: state[name].detach().clone() for name in weights}
    merged = PeftModel.from_pretrained(base, export_plan["adapter_dir"]).merge_and_unload()
    after = merged.state_dict()
    change = max((float((after[n] - before[n]).abs().max()) for n in weights), default=0.0)
    merged = merged.to(getattr(torch, merge["save_dtype"]))
    merged.save_pretrained(target)
    tokenizer = AutoTokenizer.from_pretrained(export_plan["adapter_dir"])
    apply_chat_template(tokenizer, export_plan["chat_template"]).save_pretrained(target)
    logger.info("Merged checkpoint: %s (largest weight change %.3g)", target, change)
    return target, {
        "merged_bytes": _size(target),
        "compute_dtype": precision.torch_name,
        "compute_precision": precision.as_dict(),
        "save_dtype": merge["save_dtype"],
        "max_weight_change": change,
    }


def convert_to_gguf(
    merged_model: Path, export_plan: Mapping[str, Any]
) -> tuple[Path, dict[str, Any]]:
    """Convert the merged checkpoint with llama.cpp's ``convert_hf_to_gguf.py``.

    Returns:
        The local GGUF (named for the outtype) and its figures (seconds, bytes).
    """
    outdir = _fresh(Path(export_plan["scratch_dir"]) / GGUF_SUBDIR)
    outfile = outdir / export_plan["gguf_name"]
    seconds = convert_checkpoint(
        export_plan["scripts"]["hf_script"],
        Path(merged_model),
        outfile,
        export_plan["outtype"],
        python=export_plan["python"],
        quantize_binary=export_plan["scripts"]["quantize_binary"],
    )
    logger.info("Converted to %s in %.1f s", outfile, seconds)
    return outfile, {
        "outtype": export_plan["outtype"],
        "file": export_plan["gguf_name"],
        "gguf_bytes": _size(outfile),
        "conversion_seconds": round(seconds, 2),
    }


def convert_lora_adapter(export_plan: Mapping[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The adapter alone as a GGUF LoRA (Ollama's ``ADAPTER``), when ``export_lora_gguf``.

    Always returns a folder with ``lora_export.json`` saying what was done, so the versioned
    ``lora_gguf`` records a switched-off run too (Kedro cannot save "nothing").

    Returns:
        The folder (with ``<stem>-lora.<TYPE>.gguf`` when exported) and its figures.
    """
    outdir = _fresh(Path(export_plan["scratch_dir"]) / LORA_SUBDIR)
    record: dict[str, Any] = {"exported": False, "reason": "export.conversion.export_lora_gguf"}
    if export_plan["export_lora_gguf"]:
        outfile = outdir / export_plan["lora_gguf_name"]
        seconds = convert_adapter(
            export_plan["scripts"]["lora_script"],
            Path(export_plan["adapter_dir"]),
            Path(export_plan["base_dir"]),
            outfile,
            export_plan["lora_outtype"],
            python=export_plan["python"],
        )
        record = {
            "exported": True,
            "file": outfile.name,
            "bytes": _size(outfile),
            "conversion_seconds": round(seconds, 2),
        }
    (outdir / LORA_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return outdir, record


def check_gguf_fidelity(
    converted_gguf: Path,
    merged_model: Path,
    export_plan: Mapping[str, Any],
    tutor_val: pd.DataFrame,
    fidelity: Mapping[str, Any],
) -> dict[str, Any]:
    """Compare llama.cpp on the GGUF with transformers on the merged checkpoint.

    Raises:
        FidelityError: an agreement figure under its ``export.fidelity.min_*`` threshold.
    """
    prompts = validation_prompts(tutor_val, int(fidelity["num_prompts"]))
    figures = measure_fidelity(
        Path(converted_gguf),
        Path(merged_model),
        export_plan["chat_template"].jinja,
        prompts,
        fidelity,
    )
    thresholds = {
        "next_token_agreement": float(fidelity["min_next_token_agreement"]),
        "continuation_agreement": float(fidelity["min_continuation_agreement"]),
    }
    enforce_thresholds(figures, thresholds)
    return {
        **figures,
        "thresholds": thresholds,
        "passed": True,
        "tutor_val_as_in_training": _same_data_as_training(tutor_val, export_plan),
    }


def _same_data_as_training(tutor_val: pd.DataFrame, export_plan: Mapping[str, Any]) -> bool | None:
    """Whether ``tutor_val`` is the one the adapter was validated on (None: not recorded).

    The prompts and the Modelfile's SYSTEM come from it; a newer formatting run may have
    changed the system prompt since the adapter was trained, which the log then says.
    """
    recorded = export_plan.get("tutor_val_sha256")
    if not recorded:
        return None
    same = content_sha256(check_conversations(tutor_val, "tutor_val")) == recorded
    if not same:
        logger.warning(
            "tutor_val differs from the one adapter %s was trained with; load that version "
            "(--load-versions tutor_val:<version>) for the exact training system prompt",
            export_plan["adapter_dir"],
        )
    return same


def publish_gguf(
    converted_gguf: Path,
    fidelity_figures: Mapping[str, Any],
    export_plan: Mapping[str, Any],
    tutor_val: pd.DataFrame,
    modelfile: Mapping[str, Any],
) -> tuple[Path, str]:
    """Release the verified GGUF with its Modelfile (same version folder, ``FROM ./<gguf>``).

    SYSTEM is the system prompt the conversations were trained with, read from ``tutor_val``
    so it cannot drift from a copy.

    Raises:
        ValueError: the GGUF was not verified, or a bad Modelfile parameter.
    """
    if not fidelity_figures.get("passed"):
        raise ValueError("The GGUF did not pass the fidelity check; it is not published")
    text = render_modelfile(
        Path(converted_gguf).name,
        export_plan["chat_template"],
        system_prompt_of(tutor_val),
        modelfile["parameters"],
    )
    return Path(converted_gguf), text


def build_export_report(
    export_plan: Mapping[str, Any],
    merge_stats: Mapping[str, Any],
    conversion_stats: Mapping[str, Any],
    lora_conversion_stats: Mapping[str, Any],
    fidelity_figures: Mapping[str, Any],
) -> dict[str, Any]:
    """Sizes, conversion time and fidelity in one record (``export_report``)."""
    return {
        "adapter": export_plan["adapter_dir"],
        "base_model": export_plan["base_dir"],
        "chat_template": export_plan["chat_template"].name,
        "lora": {"modules": export_plan["lora_modules"], "rank": export_plan["lora_rank"]},
        "converter": {
            "script": export_plan["scripts"]["hf_script"],
            "llama_cpp_python": importlib.metadata.version("llama_cpp_python"),
        },
        "merge": dict(merge_stats),
        "gguf": {
            **conversion_stats,
            "compression": round(merge_stats["merged_bytes"] / conversion_stats["gguf_bytes"], 3),
        },
        "lora_gguf": dict(lora_conversion_stats),
        "fidelity": dict(fidelity_figures),
        "cpu": cpu(),  # model and bf16/AVX flags: the precisions and timings depend on them
    }
