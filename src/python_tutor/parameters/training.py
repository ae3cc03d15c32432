"""``training`` (conf/base/parameters_training.yml): LoRA fine-tuning of the base model.

A new knob: a field in the block's model below, and its default with a one-line comment in
conf/base/parameters_training.yml (conf/gpu only where its value differs).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from .knobs import Knobs

BACKENDS = ("auto", "unsloth", "hf")
# training.varlen_attention's two ways into torch's flash kernel; the first is its default
VARLEN_KERNELS = ("varlen_attn", "aten_flash")


class CompileBreakEvenKnobs(Knobs):
    """``training.model.compile_break_even``: what ``compile_layers: auto`` weighs."""

    compile_seconds: float = Field(ge=0)
    cached_compile_seconds: float = Field(ge=0)
    compiled_tokens_per_second: float = Field(gt=0)
    eager_tokens_per_second: float = Field(gt=0)


class ModelKnobs(Knobs):
    """``training.model``: how the base model is loaded, laid out and compiled."""

    max_seq_length: PositiveInt
    load_in_4bit: bool
    precision: str  # python_tutor.precision checks the name (aliases such as bfloat16 too)
    chat_template: str  # python_tutor.chat_templates checks the name
    attn_implementation: str | None  # any of transformers' (sdpa, eager ...) or torch_varlen
    varlen_kernel: Literal[VARLEN_KERNELS]
    lora_input_casting: bool
    compile_layers: bool | Literal["auto"]
    compile_options: dict[str, Any]  # Inductor's options, checked by torch when compiling
    compile_break_even: CompileBreakEvenKnobs
    compile_cache_dir: str | None
    gc_freeze: bool


class LoraKnobs(Knobs):
    """``training.lora``: peft.LoraConfig fields."""

    r: PositiveInt
    lora_alpha: PositiveInt
    lora_dropout: float = Field(ge=0, lt=1)
    bias: Literal["none", "all", "lora_only"]
    target_modules: list[str] = Field(min_length=1)


class SftKnobs(Knobs):
    """``training.sft``: trl.SFTConfig fields (precision, length and output dir come from the
    plan, training.nodes); another SFTConfig field needs its own line here."""

    per_device_train_batch_size: PositiveInt
    gradient_accumulation_steps: PositiveInt
    per_device_eval_batch_size: PositiveInt
    padding_free: bool
    pad_to_multiple_of: PositiveInt | Literal["auto"] | None
    num_train_epochs: float = Field(gt=0)
    max_steps: int = Field(ge=-1)
    learning_rate: float = Field(gt=0)
    warmup_steps: NonNegativeInt
    lr_scheduler_type: str
    weight_decay: float = Field(ge=0)
    optim: str  # transformers' OptimizerNames, checked by SFTConfig
    gradient_checkpointing: bool
    seed: int
    eval_strategy: Literal["no", "steps", "epoch"]
    eval_steps: PositiveInt
    eval_on_start: bool
    prediction_loss_only: bool
    save_strategy: Literal["no", "steps", "epoch", "best"]
    save_steps: PositiveInt
    save_total_limit: PositiveInt | None
    logging_steps: PositiveInt
    disable_tqdm: bool


class RunKnobs(Knobs):
    """``training.run``: checkpoints and processes."""

    checkpoint_dir: str
    resume: bool
    keep_checkpoints: bool
    num_processes: PositiveInt
    launcher_args: list[str]


class TrainingParameters(Knobs):
    """The ``training`` block."""

    backend: Literal[BACKENDS]
    model: ModelKnobs
    lora: LoraKnobs
    sft: SftKnobs
    run: RunKnobs
