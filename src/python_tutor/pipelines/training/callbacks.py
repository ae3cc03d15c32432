"""Trainer callbacks: stop on a non-finite loss, record throughput, keep the console quiet,
keep the garbage collector off the compiled layers.

Imported only inside the training node: transformers is heavy and CPU-only commands
(``kedro registry list``, kedro-viz) must stay fast.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from transformers import PrinterCallback, ProgressCallback, TrainerCallback

from .tokens import real_tokens

logger = logging.getLogger(__name__)

WATCHED_LOSSES = ("loss", "eval_loss")


class NonFiniteLossError(RuntimeError):
    """Training diverged: a logged loss is NaN or infinite."""


class StopOnNonFiniteLoss(TrainerCallback):
    """Raise as soon as a logged loss is NaN/inf, instead of training on garbage.

    Needs ``logging_nan_inf_filter=False``: with the Trainer's default, NaN/inf step losses are
    replaced by the running mean before they are logged, which would hide the divergence.
    """

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        for key in WATCHED_LOSSES:
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                raise NonFiniteLossError(
                    f"Training stopped: {key} = {value} at step {state.global_step}. "
                    "The run diverged; lower `training.sft.learning_rate`, check the data, or "
                    "use `training.model.precision: fp32`. No adapter was saved."
                )


class FreezeGarbageAfterFirstStep(TrainerCallback):
    """After the first step, collect once and ``gc.freeze()`` every object still alive.

    Compiled layers leave hundreds of thousands of long-lived Python objects (graphs, guards,
    generated code), and each of Python's full collections walks them all: 0.5-0.8 s with a tiny
    compiled LLaMA on this project's CPU, and a single ~0.75 s step among 64 of ~86 ms on the
    H200 (benchmark call 17) looks like one. Frozen objects are skipped by later collections.
    The first step has done the compiling (evaluation's too, with ``eval_on_start``); the
    collection first frees what is already garbage, because frozen objects are never collected
    for cycles. Once per run: a second freeze would keep that step's garbage for good.
    """

    def __init__(self) -> None:
        self.frozen = False

    def on_step_end(self, args, state, control, **kwargs):
        if self.frozen:
            return
        gc.collect()
        gc.freeze()
        self.frozen = True
        logger.info("gc.freeze after step %d: %d objects", state.global_step, gc.get_freeze_count())


class ThroughputRecorder(TrainerCallback):
    """Wall time and real (non-padding) tokens of this run, resumed or not.

    Tokens are counted from the batches the trainer trains on (``count_training_tokens``), not
    from TRL's logged ``num_tokens``: Unsloth's patched trainer does not log it.
    """

    def __init__(self) -> None:
        self.started: float | None = None
        self.finished: float | None = None
        self.first_step = 0
        self.last_step = 0
        self.tokens = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()
        self.first_step = state.global_step

    def count_batch(self, inputs: Mapping[str, Any]) -> None:
        """Add one training micro-batch's real tokens (``tokens.real_tokens``: no padding)."""
        self.tokens += int(real_tokens(inputs))

    def on_train_end(self, args, state, control, **kwargs):
        self.finished = time.perf_counter()
        self.last_step = state.global_step

    @property
    def seconds(self) -> float:
        """Duration of the training loop (evaluations included)."""
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started


def count_training_tokens(trainer: Any, recorder: ThroughputRecorder) -> None:
    """Let ``recorder`` see every micro-batch the trainer trains on (evaluation excluded).

    The training loop calls ``self.training_step`` per micro-batch in transformers, TRL and
    Unsloth alike, so wrapping it on the instance counts exactly what was trained.
    """
    training_step = trainer.training_step

    def counted(model, inputs, *args, **kwargs):
        recorder.count_batch(inputs)
        return training_step(model, inputs, *args, **kwargs)

    trainer.training_step = counted


def log_evaluation(state: Any, logs: dict[str, Any] | None) -> None:
    """One line per evaluation: step, last train loss, validation loss."""
    if logs and "eval_loss" in logs:
        train = next((e["loss"] for e in reversed(state.log_history) if "loss" in e), None)
        logger.info(
            "step %d/%d  train loss %s  val loss %.4f",
            state.global_step,
            state.max_steps,
            "-" if train is None else f"{train:.4f}",
            logs["eval_loss"],
        )


class ConciseProgress(ProgressCallback):
    """The progress bar, with one log line per evaluation instead of a dict per step."""

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        log_evaluation(state, logs)


class ConcisePrinter(TrainerCallback):
    """Without a progress bar (``disable_tqdm: true``): the evaluation lines only."""

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        log_evaluation(state, logs)


def quiet_console(trainer: Any) -> None:
    """Replace the Trainer's printing of every log dict with the concise callbacks."""
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(ConciseProgress)
    if trainer.pop_callback(PrinterCallback) is not None:
        trainer.add_callback(ConcisePrinter)
