"""The GPU code paths, wired against recording stand-ins (CPU has no CUDA, Unsloth or
bitsandbytes): what Unsloth and bitsandbytes are asked to do is what the recipe says."""

from __future__ import annotations

import sys
import types

import pandas as pd
import pytest
import torch

from python_tutor.pipelines.training import trainers
from python_tutor.pipelines.training.backend_selection import TrainingPlan
from python_tutor.pipelines.training.conversations import check_conversations
from python_tutor.pipelines.training.trainers import sft_config_fields, sft_config_kwargs

from .conftest import SYSTEM, conversation

GPU_PLAN = TrainingPlan(
    backend="unsloth", device="cuda", precision="bf16", load_in_4bit=True, optim="adamw_8bit"
)


def kwargs_for(params, plan):
    sft = {**params["sft"], "gradient_checkpointing": True}
    sft_kwargs = sft_config_kwargs(
        sft_params=sft,
        plan=plan,
        max_seq_length=params["model"]["max_seq_length"],
        output_dir=params["run"]["checkpoint_dir"],
        accepted=sft_config_fields(),
    )
    # the stand-ins train nothing; CPU keeps TRL from looking for the GPU
    return {**sft_kwargs, "use_cpu": True, "bf16": False, "optim": "adamw_torch"}


@pytest.fixture
def fake_unsloth(monkeypatch, tiny_llama3_dir):
    """An ``unsloth`` package that records its calls and hands back the tiny model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    calls = {}

    class FastLanguageModel:
        @staticmethod
        def from_pretrained(**kwargs):
            calls["from_pretrained"] = kwargs
            model = AutoModelForCausalLM.from_pretrained(kwargs["model_name"])
            return model, AutoTokenizer.from_pretrained(kwargs["model_name"])

        @staticmethod
        def get_peft_model(model, **kwargs):
            calls["get_peft_model"] = kwargs
            config = LoraConfig(
                task_type="CAUSAL_LM",
                r=kwargs["r"],
                lora_alpha=kwargs["lora_alpha"],
                target_modules=kwargs["target_modules"],
            )
            return get_peft_model(model, config)

    def train_on_responses_only(trainer, **kwargs):
        calls["train_on_responses_only"] = kwargs
        return trainer

    unsloth = types.ModuleType("unsloth")
    unsloth.FastLanguageModel = FastLanguageModel
    chat_templates = types.ModuleType("unsloth.chat_templates")
    chat_templates.train_on_responses_only = train_on_responses_only
    monkeypatch.setitem(sys.modules, "unsloth", unsloth)
    monkeypatch.setitem(sys.modules, "unsloth.chat_templates", chat_templates)
    return calls


def test_unsloth_backend_follows_the_recipe(fake_unsloth, tiny_llama3_dir, training_params):
    params = training_params
    conversations = check_conversations(pd.DataFrame([conversation(3)]), "tutor_train")
    built = trainers.build_unsloth_trainer(
        plan=GPU_PLAN,
        base_model=tiny_llama3_dir,
        model_params={**params["model"], "chat_template": "llama-3.1"},
        lora_params=params["lora"],
        sft_kwargs=kwargs_for(params, GPU_PLAN),
        train=conversations,
        val=conversations,
        callbacks=[],
    )
    loaded = fake_unsloth["from_pretrained"]
    assert loaded["model_name"] == str(tiny_llama3_dir)
    assert loaded["max_seq_length"] == params["model"]["max_seq_length"]
    assert loaded["load_in_4bit"] is True and loaded["dtype"] == torch.bfloat16
    peft = fake_unsloth["get_peft_model"]
    assert peft["use_gradient_checkpointing"] == "unsloth"
    assert peft["random_state"] == params["sft"]["seed"]
    assert (peft["r"], peft["lora_alpha"], peft["bias"]) == (4, 8, "none")
    assert peft["target_modules"] == params["lora"]["target_modules"]
    assert fake_unsloth["train_on_responses_only"] == {
        "instruction_part": "<|start_header_id|>user<|end_header_id|>\n\n",
        "response_part": "<|start_header_id|>assistant<|end_header_id|>\n\n",
    }
    # Unsloth's own checkpointing replaces the Trainer's; the rendered text carries the layout
    assert built.trainer.args.gradient_checkpointing is False
    assert built.template.name == "llama-3.1"
    text = built.tokenizer.decode(built.trainer.train_dataset[0]["input_ids"])
    assert SYSTEM in text and "<|start_header_id|>assistant<|end_header_id|>" in text
    assert text.count("<|begin_of_text|>") == 1  # the template's BOS, not a second one


def hf_load_arguments(monkeypatch, base_model, params, plan):
    """What ``build_hf_trainer`` hands ``from_pretrained`` (nothing is loaded)."""
    from transformers import AutoModelForCausalLM

    seen = {}

    def fake_from_pretrained(path, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop after loading")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", fake_from_pretrained)
    with pytest.raises(RuntimeError, match="stop after loading"):
        trainers.build_hf_trainer(
            plan=plan,
            base_model=base_model,
            model_params=params["model"],
            lora_params=params["lora"],
            sft_kwargs={},
            train=[],
            val=[],
            callbacks=[],
        )
    return seen


def test_hf_backend_loads_4bit_nf4_on_the_gpu(monkeypatch, tiny_llama_dir, training_params):
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    plan = TrainingPlan(
        backend="hf", device="cuda", precision="fp16", load_in_4bit=True, optim="adamw_8bit"
    )
    seen = hf_load_arguments(monkeypatch, tiny_llama_dir, training_params, plan)
    quantization = seen["quantization_config"]
    assert quantization.load_in_4bit and quantization.bnb_4bit_quant_type == "nf4"
    assert quantization.bnb_4bit_compute_dtype == torch.float16
    assert seen["dtype"] == torch.float16 and seen["device_map"] == {"": 0}


def test_hf_backend_on_cpu_loads_bf16_weights_unquantised(
    monkeypatch, tiny_llama_dir, training_params
):
    plan = TrainingPlan(
        backend="hf", device="cpu", precision="bf16", load_in_4bit=False, optim="adamw_torch"
    )
    seen = hf_load_arguments(monkeypatch, tiny_llama_dir, training_params, plan)
    assert seen["dtype"] == torch.bfloat16
    assert seen["quantization_config"] is None and seen["device_map"] is None


def test_hf_backend_passes_the_attention_implementation(
    monkeypatch, tiny_llama_dir, training_params
):
    from transformers import AttentionInterface

    plan = TrainingPlan(
        backend="hf", device="cpu", precision="bf16", load_in_4bit=False, optim="adamw_torch"
    )
    monkeypatch.delitem(AttentionInterface._global_mapping, "torch_varlen", raising=False)
    training_params["model"]["attn_implementation"] = "torch_varlen"
    seen = hf_load_arguments(monkeypatch, tiny_llama_dir, training_params, plan)
    assert seen["attn_implementation"] == "torch_varlen"
    assert "torch_varlen" in AttentionInterface._global_mapping  # registered before loading


def padding_free_trainer(tiny_llama_dir, training_params, max_length, train):
    params = training_params
    plan = TrainingPlan(
        backend="hf", device="cpu", precision="fp32", load_in_4bit=False, optim="adamw_torch"
    )
    sft = {**params["sft"], "padding_free": True}
    return trainers.build_hf_trainer(
        plan=plan,
        base_model=tiny_llama_dir,
        model_params=params["model"],
        lora_params=params["lora"],
        sft_kwargs={**kwargs_for({**params, "sft": sft}, plan), "max_length": max_length},
        train=train,
        val=train[:2],
        callbacks=[],
    )


def test_hf_padding_free_flattens_each_batch_into_one_row(tiny_llama_dir, training_params):
    train = [conversation(i)["messages"] for i in range(4)]
    built = padding_free_trainer(tiny_llama_dir, training_params, 128, train)
    assert built.trainer.args.padding_free and built.trainer.args.max_length is None
    batch = next(iter(built.trainer.get_train_dataloader()))
    lengths = [len(row) for row in built.trainer.train_dataset["input_ids"]]
    assert batch["input_ids"].shape == (1, sum(lengths))
    assert "attention_mask" not in batch
    assert (batch["position_ids"][0] == 0).sum() == len(lengths)  # one restart per conversation


def test_hf_padding_free_refuses_a_conversation_over_max_length(tiny_llama_dir, training_params):
    train = [conversation(i)["messages"] for i in range(3)]
    train[2][-1]["content"] = "palabra " * 200
    with pytest.raises(ValueError, match=r"tutor_train row 2: \d+ tokens, over training.model"):
        padding_free_trainer(tiny_llama_dir, training_params, 128, train)


def two_step_trainer(tiny_llama_dir, training_params, precision, **model_changes):
    """An hf trainer on the CPU for two optimizer steps of 8 conversations, no evaluation."""
    plan = TrainingPlan(
        backend="hf", device="cpu", precision=precision, load_in_4bit=False, optim="adamw_torch"
    )
    params = {**training_params, "model": {**training_params["model"], **model_changes}}
    sft = {**kwargs_for(params, plan), "bf16": precision == "bf16", "max_steps": 2}
    sft.update(eval_strategy="no", eval_on_start=False, save_strategy="no")
    sft["gradient_checkpointing"] = False
    train = [conversation(i)["messages"] for i in range(8)]
    return trainers.build_hf_trainer(
        plan=plan,
        base_model=tiny_llama_dir,
        model_params=params["model"],
        lora_params=params["lora"],
        sft_kwargs=sft,
        train=train,
        val=train[:2],
        callbacks=[],
    ).trainer


def step_losses(trainer):
    return [e["loss"] for e in trainer.state.log_history if "loss" in e]


def test_lora_input_casting_off_trains_the_same_numbers(tiny_llama_dir, training_params):
    """Under bf16 autocast the adapter's matmuls run in bf16 either way: same losses."""
    losses = {}
    for casting in (True, False):
        trainer = two_step_trainer(
            tiny_llama_dir, training_params, "bf16", lora_input_casting=casting
        )
        layers = [m for m in trainer.model.modules() if hasattr(m, "lora_A")]
        assert layers and all(m.cast_input_dtype_enabled is casting for m in layers)
        trainer.train()
        losses[casting] = step_losses(trainer)
    assert losses[True] == pytest.approx(losses[False], rel=1e-3)


def test_hf_varlen_batches_carry_their_sequence_boundaries(
    monkeypatch, tiny_llama_dir, training_params
):
    """Under torch_varlen the collator works the boundaries out (TRL 1.15 does not; 1.16 does,
    without merging the trailing pad run); other attention keeps TRL's collator."""
    from transformers import AttentionInterface

    from python_tutor.pipelines.training import varlen_attention

    train = [conversation(i)["messages"] for i in range(4)]
    built = padding_free_trainer(tiny_llama_dir, training_params, 128, train)
    assert not isinstance(built.trainer.data_collator, varlen_attention.SequenceBoundaries)

    # the real kernel is CUDA-only; building and batching never call it
    monkeypatch.setitem(
        AttentionInterface._global_mapping, varlen_attention.NAME, lambda *a, **k: pytest.fail()
    )
    kernels = []
    monkeypatch.setattr(
        varlen_attention, "register", lambda kernel: kernels.append(kernel) or varlen_attention.NAME
    )
    training_params["model"]["attn_implementation"] = varlen_attention.NAME
    training_params["model"]["varlen_kernel"] = "aten_flash"
    built = padding_free_trainer(tiny_llama_dir, training_params, 128, train)
    assert kernels == ["aten_flash"]  # training.model.varlen_kernel reaches the registration
    batch = next(iter(built.trainer.get_train_dataloader()))
    lengths = [len(row) for row in built.trainer.train_dataset["input_ids"]]
    assert batch["cu_seq_lens_q"].tolist() == [0, *torch.tensor(lengths).cumsum(0).tolist()]
    assert batch["max_length_q"] == max(lengths)


@pytest.mark.slow
def test_compiled_layers_train_the_same_numbers(tiny_llama_dir, training_params):
    """Regional compilation (Inductor, here on the CPU) changes the speed, not the learning."""
    from torch._dynamo.utils import counters

    losses, keys = {}, {}
    for compiled in (False, True):
        counters.clear()
        trainer = two_step_trainer(tiny_llama_dir, training_params, "fp32", compile_layers=compiled)
        trainer.train()
        losses[compiled] = step_losses(trainer)
        keys[compiled] = sorted(trainer.model.state_dict())
        assert bool(counters["stats"]["unique_graphs"]) is compiled  # Inductor really ran
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)
    assert keys[True] == keys[False]  # saved adapters keep their keys


def test_cuda_graphs_are_refused_before_anything_compiles(tiny_llama_dir, training_params):
    """triton.cudagraphs segfaulted in the compiled backward on the H200 (torch 2.11), per
    layer and over the whole decoder: a clear error at build time instead of a crash later."""
    from torch._dynamo.utils import counters

    counters.clear()
    with pytest.raises(ValueError, match="segmentation fault"):
        two_step_trainer(
            tiny_llama_dir,
            training_params,
            "fp32",
            compile_layers=True,
            compile_options={"triton.cudagraphs": True},
        )
    assert not counters["stats"]["unique_graphs"]


def test_gc_freeze_freezes_once_after_the_first_step(tiny_llama_dir, training_params):
    """``training.model.gc_freeze``: the collector skips what lived through step 1, and only
    that: a second freeze would keep later garbage for good."""
    import gc

    from transformers import TrainerCallback

    counts = []

    class FrozenAtStepEnd(TrainerCallback):  # added after the builder's callback: runs after it
        def on_step_end(self, args, state, control, **kwargs):
            counts.append(gc.get_freeze_count())

    plain = two_step_trainer(tiny_llama_dir, training_params, "fp32")
    assert not any("Freeze" in type(c).__name__ for c in plain.callback_handler.callbacks)
    trainer = two_step_trainer(tiny_llama_dir, training_params, "fp32", gc_freeze=True)
    trainer.add_callback(FrozenAtStepEnd())
    before = gc.get_freeze_count()
    try:
        trainer.train()
    finally:
        gc.unfreeze()
    assert counts[0] > before  # the model, the trainer and the rest of step 1's survivors
    assert counts[1] <= counts[0]  # no second freeze (reference counting still frees some)


def test_auto_compile_plans_with_the_trainers_own_steps(tiny_llama_dir, training_params, caplog):
    """The break-even sees the tokens the Trainer will train on: 2 steps of 4 = the 8
    conversations once; too few for the H200 figures, enough when compiling is nearly free."""
    from .test_compile_plan import BREAK_EVEN

    trainer = two_step_trainer(tiny_llama_dir, training_params, "fp32")
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    model = {"compile_layers": "auto", "compile_break_even": BREAK_EVEN}
    with caplog.at_level("INFO", logger=trainers.logger.name):
        decision = trainers.plan_compile(trainer, model)
    assert decision.planned_tokens == tokens and not decision.compile
    assert "Compile decoder layers: no" in caplog.text
    cheap = {**BREAK_EVEN, "compile_seconds": 1e-6}
    assert trainers.plan_compile(trainer, {**model, "compile_break_even": cheap}).compile
