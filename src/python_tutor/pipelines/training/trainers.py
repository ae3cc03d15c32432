"""The two ways to build a LoRA SFT trainer: Unsloth on CUDA, transformers+PEFT+TRL anywhere.

Both read the same parameter blocks: ``training.lora`` holds ``peft.LoraConfig`` fields and
``training.sft`` holds ``trl.SFTConfig`` fields (the same names in TRL 1.15, which Unsloth pins,
and 1.16). The few settings the plan owns (precision, optimizer after fallback, sequence length,
where checkpoints go) are added here and may not be set in ``training.sft``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_tutor.chat_templates import ChatTemplate, apply_chat_template, resolve_chat_template
from python_tutor.precision import TORCH_NAMES

from . import varlen_attention
from .backend_selection import TrainingPlan
from .compile_plan import CompileDecision, decide_compile, planned_tokens, use_compile_cache
from .conversations import instruction_part, to_prompt_completion, to_text

logger = logging.getLogger(__name__)

# SFTConfig fields this module sets from the plan; the parameter that owns each instead.
OWNED_FIELDS = {
    "output_dir": "training.run.checkpoint_dir",
    "max_length": "training.model.max_seq_length",
    "bf16": "training.model.precision",
    "fp16": "training.model.precision",
    "use_cpu": "the detected device",
    "report_to": "(always none: metrics go to the training_metrics dataset)",
    "logging_nan_inf_filter": "(always off, so NaN losses stop the run)",
}


@dataclass
class BuiltTrainer:
    """A ready trainer and what the run needs to know about it."""

    trainer: Any
    tokenizer: Any
    template: ChatTemplate
    compile: dict[str, Any] | None = None  # compile_plan.CompileDecision (hf backend)


def sft_config_kwargs(
    *,
    sft_params: Mapping[str, Any],
    plan: TrainingPlan,
    max_seq_length: int,
    output_dir: Path,
    accepted: Sequence[str],
) -> dict[str, Any]:
    """``training.sft`` plus the plan's settings, as ``SFTConfig`` keyword arguments.

    Raises:
        ValueError: a key that ``SFTConfig`` does not know, or one the plan owns.
    """
    for key in sft_params:
        if key in OWNED_FIELDS:
            raise ValueError(
                f"parameters_training.yml: `training.sft.{key}` is set from "
                f"{OWNED_FIELDS[key]}; remove it from `training.sft`"
            )
        if key not in accepted:
            raise ValueError(
                f"parameters_training.yml: `training.sft.{key}` is not a trl.SFTConfig field"
            )
    kwargs = dict(sft_params)
    kwargs.update(
        output_dir=str(output_dir),
        max_length=max_seq_length,
        optim=plan.optim,
        bf16=plan.precision == "bf16",
        fp16=plan.precision == "fp16",
        report_to="none",
        logging_nan_inf_filter=False,
    )
    if plan.device == "cpu":
        kwargs["use_cpu"] = True
    return kwargs


def sft_config_fields() -> list[str]:
    """The ``SFTConfig`` fields of the installed TRL."""
    from trl import SFTConfig  # noqa: PLC0415

    return [f.name for f in dataclasses.fields(SFTConfig)]


def torch_dtype(precision: str) -> Any:
    """The torch dtype of a precision name."""
    import torch  # noqa: PLC0415

    return getattr(torch, TORCH_NAMES[precision])


def load_tokenizer(base_model: Path, chat_template: str | None) -> tuple[Any, ChatTemplate]:
    """The base tokenizer carrying the chosen chat template, with a pad token."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    template = resolve_chat_template(chat_template, tokenizer)
    tokenizer = apply_chat_template(tokenizer, template)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
        logger.info("The tokenizer has no pad token; padding with %r", tokenizer.eos_token)
    return tokenizer, template


def build_hf_trainer(
    *,
    plan: TrainingPlan,
    base_model: Path,
    model_params: Mapping[str, Any],
    lora_params: Mapping[str, Any],
    sft_kwargs: Mapping[str, Any],
    train: list[list[dict[str, str]]],
    val: list[list[dict[str, str]]],
    callbacks: list[Any],
) -> BuiltTrainer:
    """transformers + PEFT + TRL; bitsandbytes 4-bit only when the plan kept it (CUDA).

    Prompt-completion records make TRL compute the loss on the answer only.
    """
    from datasets import Dataset, disable_progress_bars  # noqa: PLC0415
    from peft import LoraConfig  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig  # noqa: PLC0415
    from trl import SFTConfig, SFTTrainer  # noqa: PLC0415

    disable_progress_bars()  # dataset preparation bars; the training bar stays
    tokenizer, template = load_tokenizer(base_model, model_params.get("chat_template"))
    quantization, device_map = None, None
    if plan.load_in_4bit:
        import torch  # noqa: PLC0415

        # bitsandbytes quantises while loading onto the GPU; the Trainer cannot move it later
        device_map = {"": torch.cuda.current_device()}
        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype(plan.precision),
        )
    attention = model_params.get("attn_implementation")
    if attention == varlen_attention.NAME:
        varlen_attention.register(
            model_params.get("varlen_kernel", varlen_attention.DEFAULT_KERNEL)
        )
    model = AutoModelForCausalLM.from_pretrained(
        base_model,
        dtype=torch_dtype(plan.precision),  # frozen weights in the compute precision
        quantization_config=quantization,
        device_map=device_map,
        **({"attn_implementation": attention} if attention else {}),
    )
    model.config.use_cache = False
    args = dict(sft_kwargs)
    length_checked_here = args.get("padding_free") and not args.get("packing")
    if length_checked_here:  # TRL does not cut padding-free rows: it wants max_length unset
        args["max_length"] = None
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(**args),
        train_dataset=Dataset.from_list(to_prompt_completion(train)),
        eval_dataset=Dataset.from_list(to_prompt_completion(val)),
        processing_class=tokenizer,
        peft_config=LoraConfig(task_type="CAUSAL_LM", **lora_params),
        callbacks=callbacks,
    )
    if length_checked_here:
        check_lengths(trainer.train_dataset, sft_kwargs["max_length"], "tutor_train")
        check_lengths(trainer.eval_dataset, sft_kwargs["max_length"], "tutor_val")
    if attention == varlen_attention.NAME:
        trainer.data_collator = varlen_attention.SequenceBoundaries(trainer.data_collator)
    if not model_params.get("lora_input_casting", True):
        set_lora_input_casting(trainer.model, enabled=False)
    decision = plan_compile(trainer, model_params)
    if decision.compile:
        if decision.cache_dir:
            use_compile_cache(Path(decision.cache_dir))
        compile_decoder_layers(trainer.model, model_params.get("compile_options"))
    if model_params.get("gc_freeze"):
        from .callbacks import FreezeGarbageAfterFirstStep  # noqa: PLC0415

        trainer.add_callback(FreezeGarbageAfterFirstStep())
    return BuiltTrainer(
        trainer=trainer, tokenizer=tokenizer, template=template, compile=decision.as_dict()
    )


def plan_compile(trainer: Any, model_params: Mapping[str, Any]) -> CompileDecision:
    """``training.model.compile_layers`` resolved for this run (``compile_plan``), logged."""
    args = trainer.args
    tokens = planned_tokens(
        [len(ids) for ids in trainer.train_dataset["input_ids"]],
        conversations_per_step=args.per_device_train_batch_size * args.gradient_accumulation_steps,
        epochs=float(args.num_train_epochs),
        max_steps=int(args.max_steps),
        processes=int(args.world_size),
    )
    cache = model_params.get("compile_cache_dir")
    decision = decide_compile(
        model_params.get("compile_layers", False),
        tokens=tokens,
        break_even=model_params.get("compile_break_even"),
        cache_dir=Path(cache) if cache else None,
    )
    logger.info(
        "Compile decoder layers: %s (%s)", "yes" if decision.compile else "no", decision.reason
    )
    return decision


def compile_decoder_layers(model: Any, options: Mapping[str, Any] | None) -> None:
    """``torch.compile`` every decoder layer in place (regional compilation).

    Small LoRA batches are bound by the host launching thousands of small kernels a step;
    Inductor fuses each layer's elementwise work (norms, RoPE, SwiGLU, LoRA scaling, residuals)
    into few kernels. The layers are identical, so one compiled graph serves them all (seconds
    of compiling, not minutes, and no graph break at the loss); row lengths change every batch,
    so they are dynamic from the start rather than recompiled for; compiling in place keeps
    module names, so saved adapters have their usual keys. ``options`` are Inductor's
    (``torch._inductor.list_options()``).

    Raises:
        ValueError: CUDA graphs (``triton.cudagraphs``), which crash the backward pass.
    """
    options = dict(options or {})
    if options.get("triton.cudagraphs"):
        raise ValueError(
            "training.model.compile_options: triton.cudagraphs (torch.compile's reduce-overhead "
            "mode) crashed the process with a segmentation fault in the compiled backward pass "
            "on the H200 with torch 2.11, recorded per layer and over the whole decoder "
            "(docs/benchmarks.md); remove it"
        )
    layers = model.get_base_model().get_decoder().layers
    for layer in layers:
        layer.compile(dynamic=True, options=options or None)
    logger.info("torch.compile: %d decoder layers, options %s", len(layers), options)


def set_lora_input_casting(model: Any, *, enabled: bool) -> None:
    """Switch PEFT's cast of each LoRA layer's input to the adapter dtype.

    PEFT keeps the adapter in float32 and casts every input to it; under bf16/fp16 autocast the
    matmul casts it straight back, so with casting off the numbers are the same and two copies
    of every LoRA input (and their gradients) are saved. PEFT's own switch
    (``cast_input_dtype_enabled``, used by ``peft.helpers.disable_input_dtype_casting``).
    """
    from peft.tuners.tuners_utils import BaseTunerLayer  # noqa: PLC0415

    for layer in model.modules():
        if isinstance(layer, BaseTunerLayer):
            layer.cast_input_dtype_enabled = enabled


def check_lengths(dataset: Any, max_length: int, name: str) -> None:
    """Refuse conversations over ``max_length`` tokens instead of training on them whole.

    Formatting already rejects them; this guards a dataset made another way.

    Raises:
        ValueError: naming the first row that is too long.
    """
    for row, ids in enumerate(dataset["input_ids"]):
        if len(ids) > max_length:
            raise ValueError(
                f"{name} row {row}: {len(ids)} tokens, over training.model.max_seq_length "
                f"({max_length}); re-run formatting with the same max_seq_length"
            )


def build_unsloth_trainer(
    *,
    plan: TrainingPlan,
    base_model: Path,
    model_params: Mapping[str, Any],
    lora_params: Mapping[str, Any],
    sft_kwargs: Mapping[str, Any],
    train: list[list[dict[str, str]]],
    val: list[list[dict[str, str]]],
    callbacks: list[Any],
) -> BuiltTrainer:
    """Unsloth's recipe: FastLanguageModel, its LoRA and gradient checkpointing, SFTTrainer on
    rendered text, then ``train_on_responses_only`` between the template's turn markers.

    ``training.sft.gradient_checkpointing`` becomes Unsloth's own ``"unsloth"`` checkpointing
    (the Trainer's is switched off so the two do not stack).
    """
    import unsloth  # noqa: F401, PLC0415  (must patch transformers/trl before they build anything)
    from datasets import Dataset, disable_progress_bars  # noqa: PLC0415
    from trl import SFTConfig, SFTTrainer  # noqa: PLC0415
    from unsloth import FastLanguageModel  # noqa: PLC0415
    from unsloth.chat_templates import train_on_responses_only  # noqa: PLC0415

    disable_progress_bars()
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=str(base_model),
        max_seq_length=sft_kwargs["max_length"],
        load_in_4bit=plan.load_in_4bit,
        dtype=torch_dtype(plan.precision),
    )
    template = resolve_chat_template(model_params.get("chat_template"), tokenizer)
    tokenizer.chat_template = template.jinja
    lora = dict(lora_params)
    model = FastLanguageModel.get_peft_model(
        model,
        r=lora.pop("r"),
        lora_alpha=lora.pop("lora_alpha"),
        lora_dropout=lora.pop("lora_dropout", 0.0),
        target_modules=lora.pop("target_modules"),
        use_gradient_checkpointing="unsloth" if sft_kwargs.get("gradient_checkpointing") else False,
        random_state=sft_kwargs.get("seed", 3407),
        **lora,
    )
    args = dict(sft_kwargs, gradient_checkpointing=False, dataset_text_field="text")
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(**args),
        train_dataset=Dataset.from_list(to_text(train, tokenizer, template)),
        eval_dataset=Dataset.from_list(to_text(val, tokenizer, template)),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer = train_on_responses_only(
        trainer,
        instruction_part=instruction_part(template),
        response_part=template.assistant_prefix,
    )
    return BuiltTrainer(trainer=trainer, tokenizer=tokenizer, template=template)


BUILDERS = {"hf": build_hf_trainer, "unsloth": build_unsloth_trainer}
