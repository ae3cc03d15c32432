"""NaN/inf losses stop training with a clear error, in the callback and in a real run."""

from __future__ import annotations

import math
import shutil
from types import SimpleNamespace

import pytest

from python_tutor.pipelines.training.callbacks import NonFiniteLossError, StopOnNonFiniteLoss
from python_tutor.pipelines.training.nodes import train_lora_adapter

STATE = SimpleNamespace(global_step=7)


@pytest.mark.parametrize("logs", [{"loss": math.nan}, {"eval_loss": math.inf}])
def test_non_finite_loss_raises_naming_step_and_knob(logs):
    with pytest.raises(NonFiniteLossError, match="at step 7.*training.sft.learning_rate"):
        StopOnNonFiniteLoss().on_log(None, STATE, None, logs=logs)


def test_finite_losses_and_other_metrics_pass():
    callback = StopOnNonFiniteLoss()
    callback.on_log(None, STATE, None, logs={"loss": 2.5, "eval_loss": 2.4})
    callback.on_log(None, STATE, None, logs={"grad_norm": math.inf})  # fp16 overflow: skipped
    callback.on_log(None, STATE, None, logs=None)


@pytest.fixture(scope="module")
def nan_llama_dir(tiny_llama_dir, tmp_path_factory):
    """The tiny model with a NaN in its final norm: every loss is NaN from the first step."""
    import torch
    from transformers import LlamaForCausalLM

    target = tmp_path_factory.mktemp("nan_llama")
    shutil.copytree(tiny_llama_dir, target, dirs_exist_ok=True)
    model = LlamaForCausalLM.from_pretrained(target)
    with torch.no_grad():
        model.model.norm.weight[0] = math.nan
    model.save_pretrained(target)
    return target


def test_a_diverging_run_stops_without_saving(
    nan_llama_dir, tutor_train, tutor_val, training_params, tmp_path
):
    params = training_params
    params["sft"]["eval_on_start"] = False
    with pytest.raises(NonFiniteLossError, match=r"loss = nan at step 1"):
        train_lora_adapter(
            tutor_train=tutor_train,
            tutor_val=tutor_val,
            base_model=nan_llama_dir,
            scratch=tmp_path / "scratch",
            **params,
        )
    assert not (tmp_path / "scratch" / "adapter").exists()
    assert any((tmp_path / "checkpoints").iterdir())  # a failed run keeps its checkpoints


class TrainerCallbacks:
    """The Trainer's callback API (``pop_callback``/``add_callback``) over its real handler."""

    def __init__(self, callbacks):
        from transformers.trainer_callback import CallbackHandler

        self.callback_handler = CallbackHandler(callbacks, None, None, None, None)

    def pop_callback(self, callback):
        return self.callback_handler.pop_callback(callback)

    def add_callback(self, callback):
        self.callback_handler.add_callback(callback)

    def names(self):
        return [type(c).__name__ for c in self.callback_handler.callbacks]


@pytest.mark.parametrize(
    ("printer", "replacement"),
    [("ProgressCallback", "ConciseProgress"), ("PrinterCallback", "ConcisePrinter")],
)
def test_console_prints_evaluations_only(printer, replacement, caplog):
    import transformers

    from python_tutor.pipelines.training.callbacks import quiet_console

    trainer = TrainerCallbacks([transformers.DefaultFlowCallback, getattr(transformers, printer)])
    quiet_console(trainer)
    assert trainer.names() == ["DefaultFlowCallback", replacement]

    (concise,) = (c for c in trainer.callback_handler.callbacks if type(c).__name__ == replacement)
    state = SimpleNamespace(global_step=4, max_steps=12, log_history=[{"loss": 2.5, "step": 4}])
    with caplog.at_level("INFO", logger="python_tutor.pipelines.training.callbacks"):
        concise.on_log(None, state, None, logs={"loss": 2.5, "learning_rate": 1e-4})
        concise.on_log(None, state, None, logs={"eval_loss": 2.25})
    assert [r.getMessage() for r in caplog.records] == [
        "step 4/12  train loss 2.5000  val loss 2.2500"
    ]


def test_tokens_counted_are_the_real_tokens_trl_counts(
    tiny_llama_dir, training_params, tutor_train
):
    """The count from the trained batches equals TRL's attention-mask count (which Unsloth
    does not log); padding is not counted."""
    from python_tutor.pipelines.training.callbacks import ThroughputRecorder, count_training_tokens
    from python_tutor.pipelines.training.conversations import check_conversations

    from .test_masking import build

    training_params["sft"].update(max_steps=2, eval_strategy="no", eval_on_start=False)
    training_params["sft"].update(save_strategy="no")
    conversations = check_conversations(tutor_train, "tutor_train")
    trainer = build(tiny_llama_dir, training_params, "model", conversations).trainer
    recorder = ThroughputRecorder()
    trainer.add_callback(recorder)
    count_training_tokens(trainer, recorder)
    trainer.train()
    logged = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e]
    assert recorder.tokens == logged[-1] > 0


def test_padding_free_batches_count_every_token():
    import torch

    from python_tutor.pipelines.training.callbacks import ThroughputRecorder

    recorder = ThroughputRecorder()
    recorder.count_batch(
        {"input_ids": torch.ones(2, 5), "attention_mask": torch.tensor([[1] * 5, [1, 1, 0, 0, 0]])}
    )
    recorder.count_batch({"input_ids": torch.ones(1, 9), "position_ids": torch.arange(9)[None]})
    assert recorder.tokens == 7 + 9
