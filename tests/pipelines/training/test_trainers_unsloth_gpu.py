"""The Unsloth backend for real on CUDA: its loader, LoRA and ``train_on_responses_only``.

Unsloth patches transformers, TRL and PEFT when it is imported, and patches less (with a
warning) when they were imported first, so it is imported before them here, and this module
runs in a pytest process of its own (benchmarks/gpu/record.sh runs each *_gpu.py file alone).
"""

from __future__ import annotations

import importlib.util

import torch

if importlib.util.find_spec("unsloth") is not None and torch.cuda.is_available():
    import unsloth  # noqa: F401

import math  # noqa: E402

import pytest  # noqa: E402

from .conftest import SYSTEM  # noqa: E402
from .test_trainers_gpu import ANSWER, QUICK_SFT, build, losses  # noqa: E402

pytestmark = pytest.mark.gpu


def test_unsloth_trains_real_steps_on_the_answers_only(tiny_llama32_dir, training_params, tmp_path):
    """Unsloth's own loader, LoRA and ``train_on_responses_only`` on the llama-3.1 layout."""
    model = {"max_seq_length": 256, "load_in_4bit": False, "precision": "bf16"}
    model["chat_template"] = "llama-3.1"
    sft = {**QUICK_SFT, "optim": "adamw_torch_fused"}
    plan, built = build("unsloth", tiny_llama32_dir, model, sft, training_params["lora"], tmp_path)
    assert plan.backend == "unsloth"
    trainer, tokenizer = built.trainer, built.tokenizer

    batch = next(iter(trainer.get_train_dataloader()))
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    trained = tokenizer.decode(ids[labels != -100])
    masked = tokenizer.decode(ids[labels == -100])
    # the answers and their end of turn are trained, nothing else; at most the header's "\n\n"
    # joins each (SmolLM2's BPE merges it into the answer's first token). A padding-free row
    # holds several conversations (the H200 run showed 4), so every answer is checked.
    turn = ANSWER + "<|eot_id|>"
    assert turn in trained
    assert set(trained.split(turn)) <= {"", "\n\n"}
    assert SYSTEM in masked and "¿Qué hace `x =" in masked
    assert SYSTEM not in trained and "¿Qué hace" not in trained

    trainer.train()
    assert trainer.state.global_step == 3
    assert len(losses(trainer)) == 3 and all(map(math.isfinite, losses(trainer)))
