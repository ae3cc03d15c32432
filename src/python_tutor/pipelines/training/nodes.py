"""Training nodes: fine-tune a LoRA adapter on the tutor conversations, then plot its losses."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import platform
import resource
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from python_tutor.machine import cpu

from .backend_selection import TrainingPlan, detect_hardware, plan_training
from .checkpoints import checkpoint_folder, claim_checkpoints, fingerprint
from .conversations import check_conversations, content_sha256

logger = logging.getLogger(__name__)

ADAPTER_SUBDIR = "adapter"
PROVENANCE = "provenance.json"
LIBRARIES = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "python_tutor")
GPU_LIBRARIES = ("unsloth", "unsloth_zoo", "bitsandbytes")


@dataclass(frozen=True)
class TrainingJob:
    """Everything one training run needs, resolved once (by the node, or by the launcher for
    every process of a distributed run)."""

    train: list[list[dict[str, str]]]  # checked messages (conversations.check_conversations)
    val: list[list[dict[str, str]]]
    base_model: Path
    params: dict[str, Any]
    plan: TrainingPlan
    data_sha256: dict[str, str]
    sft_kwargs: dict[str, Any]
    fingerprint: str  # of parameters, plan and data (checkpoints.fingerprint)
    checkpoint_dir: Path  # this fingerprint's folder under training.run.checkpoint_dir
    adapter_dir: Path  # in the run's own scratch folder
    resume_from: Path | None = None


def train_lora_adapter(
    *,
    tutor_train: pd.DataFrame,
    tutor_val: pd.DataFrame,
    base_model: Path,
    scratch: Path,
    backend: str,
    model: Mapping[str, Any],
    lora: Mapping[str, Any],
    sft: Mapping[str, Any],
    run: Mapping[str, Any],
) -> tuple[Path, dict[str, Any]]:
    """Train a LoRA adapter with loss on the assistant answers, validating on ``tutor_val``.

    The trainer writes checkpoints itself (every ``training.sft.save_steps``) into
    ``training.run.checkpoint_dir/<fingerprint of parameters and data>``: Transformers can only
    resume from a local directory, and a killed process has no chance to hand anything to
    Kedro (``checkpoints.claim_checkpoints``: one run per fingerprint at a time, removed once
    spent). The finished adapter is written into this run's own ``scratch`` folder and returned
    as a path for the versioned ``lora_adapter`` dataset to copy. With
    ``training.run.num_processes`` above 1 the same training runs data-parallel in that many
    processes (``distributed.launch_workers``); this node waits.

    Returns:
        The adapter directory (weights, config, tokenizer with chat template, provenance.json)
        and the training metrics (losses per step, tokens/s, peak memory, duration).
    """
    job = prepare_training(
        tutor_train=tutor_train,
        tutor_val=tutor_val,
        base_model=base_model,
        params={"backend": backend, "model": model, "lora": lora, "sft": sft, "run": run},
        adapter_dir=Path(scratch) / ADAPTER_SUBDIR,
    )
    processes = int(run.get("num_processes", 1))
    keep = bool(run.get("keep_checkpoints", False))
    with claim_checkpoints(job.checkpoint_dir, job.fingerprint, bool(run["resume"]), keep) as last:
        job = replace(job, resume_from=last)
        if processes > 1:
            from .distributed import launch_workers  # noqa: PLC0415

            return launch_workers(job, processes, run.get("launcher_args") or [])
        return run_training(job)


def prepare_training(
    *,
    tutor_train: pd.DataFrame,
    tutor_val: pd.DataFrame,
    base_model: Path,
    params: dict,
    adapter_dir: Path,
) -> TrainingJob:
    """Check the data, resolve the plan and the checkpoint folder (one process only)."""
    train = check_conversations(tutor_train, "tutor_train")
    val = check_conversations(tutor_val, "tutor_val")
    model, sft, run = params["model"], params["sft"], params["run"]
    plan = plan_training(params["backend"], model, sft, detect_hardware())
    from .trainers import sft_config_fields, sft_config_kwargs  # noqa: PLC0415

    data = {"tutor_train": content_sha256(train), "tutor_val": content_sha256(val)}
    what_is_trained = {key: params[key] for key in ("model", "lora", "sft")}
    run_fingerprint = fingerprint(
        {**what_is_trained, "plan": plan.as_dict(), "base_model": str(base_model)}, data
    )
    checkpoint_dir = checkpoint_folder(Path(run["checkpoint_dir"]), run_fingerprint)
    sft_kwargs = sft_config_kwargs(
        sft_params=sft,
        plan=plan,
        max_seq_length=model["max_seq_length"],
        output_dir=checkpoint_dir,
        accepted=sft_config_fields(),
    )
    return TrainingJob(
        train=train,
        val=val,
        base_model=Path(base_model),
        params=params,
        plan=plan,
        data_sha256=data,
        sft_kwargs=sft_kwargs,
        fingerprint=run_fingerprint,
        checkpoint_dir=checkpoint_dir,
        adapter_dir=adapter_dir,
    )


def run_training(job: TrainingJob) -> tuple[Path, dict[str, Any]]:
    """Train in this process (one rank of a distributed run, or the whole run).

    Only the main process writes the adapter and its provenance.
    """
    plan, params = job.plan, job.params
    if plan.backend == "unsloth":
        # Unsloth patches transformers, TRL and PEFT on import: it must come before them
        import unsloth  # noqa: F401, PLC0415
    from transformers import set_seed  # noqa: PLC0415

    from .answer_positions import score_answer_positions_only  # noqa: PLC0415
    from .callbacks import (  # noqa: PLC0415
        StopOnNonFiniteLoss,
        ThroughputRecorder,
        count_training_tokens,
        quiet_console,
    )
    from .trainers import BUILDERS  # noqa: PLC0415

    train, val, base_model, model = job.train, job.val, job.base_model, params["model"]
    set_seed(job.sft_kwargs.get("seed", 42))
    recorder = ThroughputRecorder()
    callbacks = [StopOnNonFiniteLoss(), recorder]
    logger.info(
        "Training %s on %d conversations (val %d): backend %s, %s, %s",
        base_model,
        len(train),
        len(val),
        plan.backend,
        plan.device,
        plan.precision,
    )
    built = BUILDERS[plan.backend](
        plan=plan,
        base_model=base_model,
        model_params=model,
        lora_params=params["lora"],
        sft_kwargs=job.sft_kwargs,
        train=train,
        val=val,
        callbacks=callbacks,
    )
    trainer = built.trainer
    quiet_console(trainer)
    count_training_tokens(trainer, recorder)
    _reset_peak_memory(plan)
    resume_from = job.resume_from
    with score_answer_positions_only(plan.device):
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)

    adapter_dir = job.adapter_dir
    metrics = _metrics(
        trainer=trainer,
        recorder=recorder,
        plan=plan,
        n_train=len(train),
        n_val=len(val),
        max_seq_length=model["max_seq_length"],
    )
    metrics["compile"] = built.compile  # compiled or not, and the break-even behind it
    if not trainer.is_world_process_zero():
        return adapter_dir, metrics
    if adapter_dir.exists():
        shutil.rmtree(adapter_dir)
    trainer.model.save_pretrained(adapter_dir)
    built.tokenizer.save_pretrained(adapter_dir)
    provenance = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": params,
        "plan": plan.as_dict(),
        "processes": metrics["processes"],
        "base_model": _base_model_info(base_model),
        "chat_template": built.template.name,
        "data": {
            name: {"conversations": n, "sha256": job.data_sha256[name]}
            for name, n in (("tutor_train", len(train)), ("tutor_val", len(val)))
        },
        "resumed_from": str(resume_from) if resume_from else None,
        "global_step": trainer.state.global_step,
        "libraries": _library_versions(plan),
        "python": platform.python_version(),
    }
    (adapter_dir / PROVENANCE).write_text(json.dumps(provenance, indent=2, ensure_ascii=False))
    return adapter_dir, metrics


def _across_processes(value: float) -> tuple[float, int]:
    """The sum of ``value`` over every process of a distributed run, and their number."""
    import torch  # noqa: PLC0415
    import torch.distributed as dist  # noqa: PLC0415

    if not (dist.is_available() and dist.is_initialized()):
        return value, 1
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    total = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return float(total.item()), dist.get_world_size()


def _reset_peak_memory(plan: TrainingPlan) -> None:
    if plan.device == "cuda":
        import torch  # noqa: PLC0415

        torch.cuda.reset_peak_memory_stats()


def _peak_memory(plan: TrainingPlan) -> dict[str, Any]:
    """CUDA: the allocator's peak during training. CPU: the process's peak resident memory."""
    if plan.device == "cuda":
        import torch  # noqa: PLC0415

        return {"bytes": int(torch.cuda.max_memory_allocated()), "kind": "cuda_max_allocated"}
    # ru_maxrss is in kilobytes on Linux
    return {
        "bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "kind": "cpu_rss_peak",
    }


def _metrics(
    *,
    trainer: Any,
    recorder: Any,
    plan: TrainingPlan,
    n_train: int,
    n_val: int,
    max_seq_length: int,
) -> dict[str, Any]:
    """Losses per step (a resumed run's history included), this run's speed and memory."""
    history = trainer.state.log_history
    train_loss = [{"step": e["step"], "loss": e["loss"]} for e in history if "loss" in e]
    val_by_step = {e["step"]: e["eval_loss"] for e in history if "eval_loss" in e}
    val_loss = [{"step": step, "loss": loss} for step, loss in sorted(val_by_step.items())]
    eval_seconds = sum(
        e.get("eval_runtime", 0.0) for e in history if e.get("step", -1) >= recorder.first_step
    )
    train_seconds = max(recorder.seconds - eval_seconds, 1e-9)
    at_limit = sum(len(ids) >= max_seq_length for ids in trainer.train_dataset["input_ids"])
    if at_limit:
        logger.warning(
            "%d training conversations reach training.model.max_seq_length=%d and are truncated",
            at_limit,
            max_seq_length,
        )
    peak = _peak_memory(plan)
    tokens, processes = _across_processes(recorder.tokens)
    metrics = {
        **plan.as_dict(),
        "train_conversations": n_train,
        "val_conversations": n_val,
        "truncated_train_conversations": int(at_limit),
        "global_step": trainer.state.global_step,
        "resumed_from_step": recorder.first_step,
        "steps_this_run": recorder.last_step - recorder.first_step,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "first_val_loss": val_loss[0]["loss"] if val_loss else None,
        "last_val_loss": val_loss[-1]["loss"] if val_loss else None,
        "processes": processes,
        "tokens_this_run": int(tokens),
        "tokens_per_second": tokens / train_seconds,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "duration_seconds": recorder.seconds,
        "peak_memory_bytes": peak["bytes"],
        "peak_memory_mib": round(peak["bytes"] / 2**20, 1),
        "peak_memory_kind": peak["kind"],
        "cpu": cpu(),  # model and bf16/AVX flags: the precision and speed depend on them
    }
    logger.info(
        "Trained %d steps in %.0f s: %.0f tokens/s, val loss %s -> %s, peak memory %.0f MiB",
        metrics["steps_this_run"],
        metrics["duration_seconds"],
        metrics["tokens_per_second"],
        _fmt(metrics["first_val_loss"]),
        _fmt(metrics["last_val_loss"]),
        metrics["peak_memory_mib"],
    )
    return metrics


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _base_model_info(base_model: Path) -> dict[str, Any]:
    """Where the base checkpoint was and what it says it is."""
    config_file = Path(base_model) / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    return {
        "path": str(base_model),
        "model_type": config.get("model_type"),
        "name_or_path": config.get("_name_or_path"),
        "architectures": config.get("architectures"),
    }


def _library_versions(plan: TrainingPlan) -> dict[str, str]:
    names = LIBRARIES + (GPU_LIBRARIES if plan.device == "cuda" else ())
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def plot_training_loss(training_metrics: Mapping[str, Any]) -> Figure:
    """Training and validation loss against the step, to see at a glance that it learnt."""
    figure = Figure(figsize=(7, 4), layout="constrained")
    axes = figure.add_subplot()
    for key, label, style in (("train_loss", "train", "-"), ("val_loss", "validation", "o-")):
        points = training_metrics.get(key) or []
        if points:
            axes.plot([p["step"] for p in points], [p["loss"] for p in points], style, label=label)
    if not axes.lines:
        raise ValueError("training_metrics has no train_loss or val_loss points to plot")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (assistant tokens)")
    axes.set_title(
        f"LoRA training ({training_metrics.get('backend')}, {training_metrics.get('precision')})"
    )
    axes.legend()
    axes.grid(alpha=0.3)
    return figure
