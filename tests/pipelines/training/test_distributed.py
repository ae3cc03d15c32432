"""Distributed training on CPU: two torchrun ranks over gloo, same code path as one process."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from safetensors import safe_open

from python_tutor.pipelines.training.distributed import torchrun_command
from python_tutor.pipelines.training.nodes import train_lora_adapter


def shapes(adapter: Path) -> dict[str, tuple[int, ...]]:
    with safe_open(adapter / "adapter_model.safetensors", "pt") as weights:
        return {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}  # noqa: SIM118


def train(params, processes, tutor_train, tutor_val, base, checkpoints):
    params = copy.deepcopy(params)
    params["backend"] = "hf"
    params["run"].update(
        checkpoint_dir=str(checkpoints), num_processes=processes, resume=False, launcher_args=[]
    )
    return train_lora_adapter(
        tutor_train=tutor_train,
        tutor_val=tutor_val,
        base_model=base,
        scratch=checkpoints.with_name(f"{checkpoints.name}_scratch"),
        **params,
    )


def test_torchrun_command_defaults_to_one_machine_and_takes_a_rendezvous(tmp_path):
    local = torchrun_command(2, [], tmp_path)
    assert local[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert local[-3:] == ["-m", "python_tutor.pipelines.training.distributed", str(tmp_path)]
    assert "--nproc_per_node" in local and local[local.index("--nproc_per_node") + 1] == "2"
    multi = torchrun_command(
        4,
        ["--nnodes", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint", "10.0.0.1:29500"],
        tmp_path,
    )
    assert "--standalone" not in multi and multi[multi.index("--nnodes") + 1] == "2"


def test_unsloth_backend_is_refused_for_several_processes(
    training_params, tutor_train, tutor_val, tiny_llama_dir, tmp_path
):
    from python_tutor.pipelines.training import distributed, nodes

    job = nodes.prepare_training(
        tutor_train=tutor_train,
        tutor_val=tutor_val,
        base_model=tiny_llama_dir,
        params={**training_params, "backend": "hf"},
        adapter_dir=tmp_path / "scratch" / "adapter",
    )
    from dataclasses import replace

    with pytest.raises(ValueError, match="set training.backend: hf"):
        distributed.launch_workers(replace(job, plan=replace(job.plan, backend="unsloth")), 2, [])


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(
    training_params, tutor_train, tutor_val, tiny_llama_dir, tmp_path
):
    single_dir, single = train(
        training_params, 1, tutor_train, tutor_val, tiny_llama_dir, tmp_path / "one"
    )
    ddp_dir, ddp = train(
        training_params, 2, tutor_train, tutor_val, tiny_llama_dir, tmp_path / "two"
    )

    assert ddp["processes"] == 2 and single["processes"] == 1
    assert shapes(ddp_dir) == shapes(single_dir)
    assert json.loads((ddp_dir / "provenance.json").read_text())["processes"] == 2
    assert ddp["global_step"] == single["global_step"] == 4
    # Both ranks' tokens are counted: two ranks train twice the conversations per step.
    assert ddp["tokens_this_run"] > 1.5 * single["tokens_this_run"]
    first, last = ddp["first_val_loss"], ddp["last_val_loss"]
    assert math.isfinite(last) and last < first
    assert abs(last - single["last_val_loss"]) < 0.25 * single["first_val_loss"]


@pytest.mark.slow
def test_a_failing_rank_fails_the_node_with_its_error(
    training_params, tutor_train, tutor_val, tmp_path
):
    with pytest.raises(RuntimeError, match=r"Distributed training failed \(rank\d"):
        train(training_params, 2, tutor_train, tutor_val, tmp_path / "no_model", tmp_path / "c")
