"""The hf backend's GPU paths for real: bitsandbytes 4-bit, conf/gpu's compiled layers.

test_trainers.py wires the same builders against recording stand-ins on the CPU; here the real
libraries load, quantize, compile and train a tiny Llama-3.2-shaped model on CUDA. Unsloth's
test is in its own module (test_trainers_unsloth_gpu.py): it patches transformers on import.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from python_tutor.pipelines.training import trainers
from python_tutor.pipelines.training.backend_selection import detect_hardware, plan_training
from python_tutor.pipelines.training.compile_plan import cache_is_warm
from python_tutor.pipelines.training.conversations import check_conversations
from python_tutor.pipelines.training.trainers import sft_config_fields, sft_config_kwargs
from tests.benchmarks import load_benchmark

from .conftest import conversation

pytestmark = pytest.mark.gpu

ROOT = Path(__file__).resolve().parents[3]
ANSWER = "Asigna 7 a x; después `print(x)` muestra 7."
QUICK_SFT = {  # a few real steps, nothing else
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "max_steps": 3,
    "learning_rate": 1.0e-2,
    "warmup_steps": 0,
    "lr_scheduler_type": "constant",
    "seed": 3407,
    "eval_strategy": "no",
    "eval_on_start": False,
    "save_strategy": "no",
    "logging_steps": 1,
    "disable_tqdm": True,
    "gradient_checkpointing": False,
}


def build(backend, base_model, model_params, sft_params, lora, output_dir):
    """A trainer from the project's own builder, planned for this machine."""
    plan = plan_training(backend, model_params, sft_params, detect_hardware())
    kwargs = sft_config_kwargs(
        sft_params=sft_params,
        plan=plan,
        max_seq_length=model_params["max_seq_length"],
        output_dir=output_dir,
        accepted=sft_config_fields(),
    )
    train = check_conversations(
        pd.DataFrame([conversation(i, ANSWER) for i in range(8)]), "tutor_train"
    )
    built = trainers.BUILDERS[plan.backend](
        plan=plan,
        base_model=base_model,
        model_params=model_params,
        lora_params=lora,
        sft_kwargs=kwargs,
        train=train,
        val=train[:2],
        callbacks=[],
    )
    return plan, built


def losses(trainer) -> list[float]:
    return [e["loss"] for e in trainer.state.log_history if "loss" in e]


def test_4bit_loading_really_quantizes_to_nf4(tiny_llama32_dir, training_params, tmp_path):
    import bitsandbytes as bnb
    import torch

    model = {"max_seq_length": 256, "load_in_4bit": True, "precision": "bf16"}
    model["chat_template"] = "llama-3.1"
    sft = {**QUICK_SFT, "optim": "adamw_8bit"}
    plan, built = build("hf", tiny_llama32_dir, model, sft, training_params["lora"], tmp_path)
    assert plan.load_in_4bit and plan.optim == "adamw_8bit" and not plan.fallbacks
    quantized = {
        name: module
        for name, module in built.trainer.model.named_modules()
        if isinstance(module, bnb.nn.Linear4bit)
    }
    # every projection of both decoder layers, adapted by LoRA (q k v o) or not (the MLP)
    for projection in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        assert sum(f".{projection}" in name for name in quantized) == 2, projection
    for layer in quantized.values():
        assert layer.weight.quant_type == "nf4"
        assert layer.weight.dtype == torch.uint8  # packed 4-bit values, two per byte
        assert layer.weight.quant_state is not None
    built.trainer.train()
    assert len(losses(built.trainer)) == 3 and all(map(math.isfinite, losses(built.trainer)))


def test_conf_gpu_compile_options_train_a_real_compiled_step(
    tiny_llama32_dir, training_params, tmp_path
):
    """conf/gpu's model block (varlen aten kernel, Inductor options incl. the C++ wrapper)
    compiles and trains the losses of the eager layers; the caches land on disk."""
    from torch._dynamo.utils import counters

    conf_gpu = load_benchmark("train_throughput").conf_gpu_params(ROOT / "conf", "gpu")
    sft = {**QUICK_SFT, "optim": conf_gpu["sft"]["optim"], "padding_free": True}
    sft["pad_to_multiple_of"] = conf_gpu["sft"]["pad_to_multiple_of"]
    found = {}
    for compiled in (False, True):
        counters.clear()
        model = {**conf_gpu["model"], "max_seq_length": 256, "compile_layers": compiled}
        model["compile_cache_dir"] = str(tmp_path / "compile_cache")
        _, built = build("hf", tiny_llama32_dir, model, sft, training_params["lora"], tmp_path)
        assert built.compile["compile"] is compiled
        built.trainer.train()
        found[compiled] = losses(built.trainer)
        assert bool(counters["stats"]["unique_graphs"]) is compiled  # Inductor really ran
    assert conf_gpu["model"]["compile_options"]  # the options under test are conf/gpu's
    assert found[True] == pytest.approx(found[False], rel=2e-2)
    assert cache_is_warm(tmp_path / "compile_cache")  # a repeated run compiles from here
