"""``export`` (conf/base/parameters_export.yml): merge, convert, check and publish the GGUF."""

from __future__ import annotations

from typing import Any

from pydantic import Field, PositiveInt

from .knobs import Knobs


class ConverterKnobs(Knobs):
    """``export.converter``: llama.cpp's converter and quantizer."""

    dir: str
    python: str | None
    quantize_binary: str


class ConversionKnobs(Knobs):
    """``export.conversion``."""

    outtype: str
    file_stem: str = Field(min_length=1)
    export_lora_gguf: bool
    lora_outtype: str


class MergeKnobs(Knobs):
    """``export.merge``: precisions (python_tutor.precision checks the names)."""

    compute_dtype: str
    save_dtype: str


class ModelfileKnobs(Knobs):
    """``export.modelfile``; Ollama's PARAMETER names are checked by python_tutor.modelfile."""

    parameters: dict[str, Any]


class FidelityKnobs(Knobs):
    """``export.fidelity``: the GGUF against the merged model."""

    num_prompts: PositiveInt
    continuation_tokens: PositiveInt
    n_ctx: PositiveInt
    n_threads: PositiveInt | None
    torch_dtype: str
    min_next_token_agreement: float = Field(ge=0, le=1)
    min_continuation_agreement: float = Field(ge=0, le=1)


class ExportParameters(Knobs):
    """The ``export`` block."""

    converter: ConverterKnobs
    conversion: ConversionKnobs
    merge: MergeKnobs
    modelfile: ModelfileKnobs
    fidelity: FidelityKnobs
