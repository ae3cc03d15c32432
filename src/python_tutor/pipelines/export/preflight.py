"""Checks that run before any long work: the converter, the adapter, and the adapter's base.

Each reads only file headers (JSON configs, safetensors headers), so a wrong path or a broken
adapter fails in a second instead of after a merge and a conversion.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PROVENANCE = "provenance.json"
HF_CONVERTER = "convert_hf_to_gguf.py"
LORA_CONVERTER = "convert_lora_to_gguf.py"
# What convert_hf_to_gguf.py writes itself; anything else needs llama-quantize afterwards.
CONVERTER_OUTTYPES = ("q8_0", "f16", "bf16", "f32")
_PEFT_PREFIX = "base_model.model."


class ExportInputError(ValueError):
    """An export input that cannot work, found before merging or converting."""


def check_converter(converter: Mapping[str, Any], outtype: str, lora_gguf: bool) -> dict[str, Any]:
    """The converter scripts and, for outtypes the converter cannot write, ``llama-quantize``.

    Returns:
        Paths of the scripts to run and of the quantize tool (None when not needed).
    """
    directory = Path(converter["dir"])
    needed = [HF_CONVERTER, *([LORA_CONVERTER] if lora_gguf else [])]
    missing = [name for name in needed if not (directory / name).is_file()]
    if missing:
        raise ExportInputError(
            f"llama.cpp converter {missing} not found in '{directory}' (parameter "
            "`export.converter.dir`); `make setup` unpacks it from the llama-cpp-python sdist."
        )
    quantize = None
    if outtype.lower() not in CONVERTER_OUTTYPES:
        tool = converter.get("quantize_binary") or "llama-quantize"
        quantize = shutil.which(tool)
        if quantize is None:
            raise ExportInputError(
                f"Parameter `export.outtype: {outtype}` needs llama.cpp's quantize tool "
                f"({tool!r}, parameter `export.converter.quantize_binary`), which is not "
                f"installed here; use one of {list(CONVERTER_OUTTYPES)} or build llama-quantize."
            )
    return {
        "hf_script": str(directory / HF_CONVERTER),
        "lora_script": str(directory / LORA_CONVERTER),
        "quantize_binary": quantize,
    }


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise ExportInputError(f"{what} '{path}' is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportInputError(f"{what} '{path}' is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ExportInputError(f"{what} '{path}' does not hold a JSON object")
    return data


def _tensor_shapes(path: Path, what: str) -> dict[str, tuple[int, ...]]:
    """Names and shapes from a safetensors header (no tensor is read)."""
    if not path.is_file():
        raise ExportInputError(f"{what} '{path}' is missing")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        raise ExportInputError(f"{what} '{path}' is not a readable safetensors file: {error}")


def check_adapter(adapter_dir: Path) -> dict[str, Any]:
    """A complete PEFT LoRA adapter: config, weights with lora_A/lora_B pairs, provenance.

    Returns:
        The adapter config, its LoRA weight shapes by module and its provenance (``{}`` when the
        adapter has none).
    """
    adapter_dir = Path(adapter_dir)
    config = _read_json(adapter_dir / ADAPTER_CONFIG, "Adapter config")
    if config.get("peft_type") != "LORA":
        raise ExportInputError(
            f"Adapter config '{adapter_dir / ADAPTER_CONFIG}' has peft_type "
            f"{config.get('peft_type')!r}; only LORA adapters can be merged and exported"
        )
    shapes = _tensor_shapes(adapter_dir / ADAPTER_WEIGHTS, "Adapter weights")
    modules: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, shape in shapes.items():
        for part in ("lora_A", "lora_B"):
            marker = f".{part}."
            if marker in key:
                module = key.split(marker)[0].removeprefix(_PEFT_PREFIX)
                modules.setdefault(module, {})[part] = shape
    broken = sorted(name for name, parts in modules.items() if set(parts) != {"lora_A", "lora_B"})
    if not modules or broken:
        raise ExportInputError(
            f"Adapter weights '{adapter_dir / ADAPTER_WEIGHTS}' hold no complete LoRA pairs"
            + (f" (modules without lora_A or lora_B: {broken[:5]})" if broken else "")
        )
    provenance_file = adapter_dir / PROVENANCE
    provenance = _read_json(provenance_file, "Provenance") if provenance_file.exists() else {}
    return {"config": config, "modules": modules, "provenance": provenance}


def _base_weight_shapes(base_dir: Path) -> dict[str, tuple[int, ...]]:
    index = base_dir / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(_read_json(index, "Weight index").get("weight_map", {}).values()))
    else:
        files = ["model.safetensors"]
    shapes: dict[str, tuple[int, ...]] = {}
    for name in files:
        shapes.update(_tensor_shapes(base_dir / name, "Base weights"))
    return shapes


def check_base_matches(adapter: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
    """The base has every module the adapter adapts, with the shapes the LoRA pairs expect.

    A pre-quantized (bitsandbytes) checkpoint on disk is refused: merging wants the 16-bit
    weights (Unsloth's ``merged_16bit`` reloads them too), so ``base_model`` must point at the
    16-bit checkpoint even when training loaded it in 4-bit.

    Returns:
        The base's ``config.json``.
    """
    base_dir = Path(base_dir)
    config = _read_json(base_dir / "config.json", "Base model config")
    quantization = config.get("quantization_config") or {}
    if quantization:
        raise ExportInputError(
            f"Base model '{base_dir}' is stored quantized ({quantization.get('quant_method')}); "
            "point `base_model` at its 16-bit checkpoint: the LoRA is merged into 16-bit weights"
        )
    trained_on = adapter["provenance"].get("base_model") or {}
    trained_type = trained_on.get("model_type") if isinstance(trained_on, Mapping) else None
    if trained_type and trained_type != config.get("model_type"):
        raise ExportInputError(
            f"The adapter was trained on a {trained_type!r} model, but base model '{base_dir}' "
            f"is {config.get('model_type')!r}"
        )
    weights = _base_weight_shapes(base_dir)
    problems = []
    for module, parts in sorted(adapter["modules"].items()):
        shape = weights.get(f"{module}.weight")
        if shape is None:
            problems.append(f"{module}: not in the base model")
            continue
        out_features, in_features = shape[0], shape[-1]
        if parts["lora_A"][-1] != in_features or parts["lora_B"][0] != out_features:
            problems.append(
                f"{module}: LoRA expects {parts['lora_B'][0]}x{parts['lora_A'][-1]}, "
                f"base has {out_features}x{in_features}"
            )
    if problems:
        raise ExportInputError(
            f"The adapter does not fit base model '{base_dir}' ({len(problems)} of "
            f"{len(adapter['modules'])} modules): " + "; ".join(problems[:5])
        )
    return config
