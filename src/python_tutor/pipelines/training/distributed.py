"""Data-parallel training in several processes, launched with torchrun (PyTorch DDP).

The Kedro node stays one process: it resolves the job once (data checks, plan, checkpoint
directory), writes it to a temporary folder, runs ``torchrun`` on this module and waits. Every
rank runs the same ``run_training`` as a single-process run; the Trainer sees torchrun's
environment and trains with DistributedDataParallel (gloo on CPU, NCCL on CUDA). Rank 0 logs,
shows the progress bar and saves the adapter; a rank that fails leaves its traceback, which the
node raises. Several machines: pass torchrun's own arguments in
``training.run.launcher_args`` (docs/distributed.md).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .backend_selection import TrainingPlan
from .nodes import TrainingJob, run_training

logger = logging.getLogger(__name__)

JOB = "job.json"
RESULT = "result.json"


def torchrun_command(processes: int, launcher_args: Sequence[str], folder: Path) -> list[str]:
    """``torchrun`` for this module: one machine by default, or the rendezvous the user gives."""
    where = list(launcher_args) or ["--standalone", "--nnodes", "1"]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        *where,
        "--nproc_per_node",
        str(processes),
        "-m",
        __name__,
        str(folder),
    ]


def launch_workers(
    job: TrainingJob, processes: int, launcher_args: Sequence[str]
) -> tuple[Path, dict[str, Any]]:
    """Run ``job`` on ``processes`` ranks and return rank 0's adapter directory and metrics.

    Raises:
        ValueError: the Unsloth backend was chosen (its multi-process training is not verified
            here; the hf backend runs DDP).
        RuntimeError: a rank failed; the message carries that rank's error.
    """
    if job.plan.backend != "hf":
        raise ValueError(
            f"training.run.num_processes={processes} trains data-parallel with the hf backend; "
            f"set training.backend: hf (the plan chose {job.plan.backend!r})"
        )
    with tempfile.TemporaryDirectory(prefix="python_tutor_ddp_") as scratch:
        folder = Path(scratch)
        _write_job(job, folder)
        command = torchrun_command(processes, launcher_args, folder)
        logger.info("Training on %d processes: %s", processes, " ".join(command))
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            errors = sorted(folder.glob("error_rank*.txt"))
            detail = errors[0].read_text().strip().splitlines()[-1] if errors else "no traceback"
            failed = errors[0].stem.removeprefix("error_") if errors else "a rank"
            raise RuntimeError(
                f"Distributed training failed ({failed}, torchrun exit {done.returncode}): {detail}"
            )
        result = json.loads((folder / RESULT).read_text())
    return Path(result["adapter_dir"]), result["metrics"]


def _write_job(job: TrainingJob, folder: Path) -> None:
    for name, rows in (("tutor_train", job.train), ("tutor_val", job.val)):
        lines = (json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
        (folder / f"{name}.jsonl").write_text("".join(lines), encoding="utf-8")
    spec = {
        "base_model": str(job.base_model),
        "params": job.params,
        "plan": job.plan.as_dict(),
        "data_sha256": job.data_sha256,
        "sft_kwargs": job.sft_kwargs,
        "fingerprint": job.fingerprint,
        "checkpoint_dir": str(job.checkpoint_dir),
        "adapter_dir": str(job.adapter_dir),
        "resume_from": str(job.resume_from) if job.resume_from else None,
    }
    (folder / JOB).write_text(json.dumps(spec, default=str), encoding="utf-8")


def _read_job(folder: Path, rank: int) -> TrainingJob:
    spec = json.loads((folder / JOB).read_text(encoding="utf-8"))
    plan = spec["plan"]
    frames = {
        name: [
            json.loads(line) for line in (folder / f"{name}.jsonl").read_text("utf-8").splitlines()
        ]
        for name in ("tutor_train", "tutor_val")
    }
    sft_kwargs = spec["sft_kwargs"] if rank == 0 else {**spec["sft_kwargs"], "disable_tqdm": True}
    return TrainingJob(
        train=frames["tutor_train"],
        val=frames["tutor_val"],
        base_model=Path(spec["base_model"]),
        params=spec["params"],
        plan=replace(TrainingPlan(**plan), fallbacks=tuple(plan["fallbacks"])),
        data_sha256=spec["data_sha256"],
        sft_kwargs=sft_kwargs,
        fingerprint=spec["fingerprint"],
        checkpoint_dir=Path(spec["checkpoint_dir"]),
        adapter_dir=Path(spec["adapter_dir"]),
        resume_from=Path(spec["resume_from"]) if spec["resume_from"] else None,
    )


def main(folder: Path) -> None:
    """One rank: train the job in ``folder``; rank 0 writes the result, a failing rank its error."""
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s",
    )
    try:
        adapter_dir, metrics = run_training(_read_job(folder, rank))
    except BaseException:
        (folder / f"error_rank{rank}.txt").write_text(traceback.format_exc(), encoding="utf-8")
        raise
    if rank == 0:
        result = {"adapter_dir": str(adapter_dir), "metrics": metrics}
        (folder / RESULT).write_text(json.dumps(result, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
