"""A killed run resumes from its last checkpoint and finishes: the real crash, not a mock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from python_tutor.pipelines.training.checkpoints import last_checkpoint
from python_tutor.pipelines.training.nodes import train_lora_adapter

# The child trains exactly like the node, only slowed down (a sleep after each step) so the
# kill surely lands between the first checkpoint and the end of the run.
CHILD = """
import json, sys, time
from pathlib import Path
import pandas as pd
from python_tutor.pipelines.training.callbacks import StopOnNonFiniteLoss
from python_tutor.pipelines.training.nodes import train_lora_adapter

StopOnNonFiniteLoss.on_step_end = lambda self, *args, **kwargs: time.sleep(1.0)
spec = json.loads(open(sys.argv[1]).read())
train_lora_adapter(
    tutor_train=pd.DataFrame(spec["train"]),
    tutor_val=pd.DataFrame(spec["val"]),
    base_model=spec["base_model"],
    scratch=Path(spec["scratch"]),
    **spec["params"],
)
"""


def run_folder(checkpoints):
    """The one fingerprint folder the runs of these settings train in (None before the first)."""
    folders = [p for p in checkpoints.iterdir() if p.is_dir()] if checkpoints.is_dir() else []
    assert len(folders) <= 1, folders
    return folders[0] if folders else None


def latest(checkpoints):
    folder = run_folder(checkpoints)
    return last_checkpoint(folder) if folder else None


@pytest.mark.slow
def test_killed_run_resumes_from_last_checkpoint(
    tiny_llama_dir, tutor_train, tutor_val, training_params, tmp_path
):
    params = training_params
    params["sft"].update(max_steps=12, save_steps=2, eval_steps=6, eval_on_start=False)
    checkpoints = tmp_path / "checkpoints"
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "train": tutor_train.to_dict("records"),
                "val": tutor_val.to_dict("records"),
                "base_model": str(tiny_llama_dir),
                "scratch": str(tmp_path / "killed_scratch"),
                "params": params,
            }
        )
    )
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(spec)])
    try:
        deadline = time.monotonic() + 300
        while latest(checkpoints) is None:
            assert child.poll() is None, "the child run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    killed_at = int(latest(checkpoints).name.split("-")[1])
    assert 2 <= killed_at < 12
    assert not (tmp_path / "killed_scratch" / "adapter").exists()

    adapter, metrics = train_lora_adapter(
        tutor_train=tutor_train,
        tutor_val=tutor_val,
        base_model=tiny_llama_dir,
        scratch=tmp_path / "scratch",  # another run, another scratch: same checkpoints
        **params,
    )

    assert metrics["resumed_from_step"] == killed_at
    assert metrics["global_step"] == 12
    assert metrics["steps_this_run"] == 12 - killed_at
    # the loss history spans both processes: the killed run's steps came back from the checkpoint
    assert [p["step"] for p in metrics["train_loss"]][:killed_at] == list(range(1, killed_at + 1))
    provenance = json.loads((adapter / "provenance.json").read_text())
    assert provenance["resumed_from"].endswith(f"checkpoint-{killed_at}")
    assert provenance["global_step"] == 12
    assert (adapter / "adapter_model.safetensors").is_file()
    assert run_folder(checkpoints) is None  # spent checkpoints are gone
