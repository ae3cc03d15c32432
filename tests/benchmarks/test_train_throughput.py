"""The GPU training benchmark's CPU-testable parts: arguments, configurations, arithmetic, data.

The benchmark itself needs a CUDA GPU and is not part of CI; these tests load it as a module and
check what decides its numbers without training anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from . import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("train_throughput")


def test_import_stays_light(bench):
    """--help and the orchestrator must not pay for torch/unsloth at import."""
    assert not any(name in bench.__dict__ for name in ("torch", "transformers", "unsloth"))


def test_parse_args_defaults(bench):
    args = bench.parse_args([])
    assert args.shapes == ["1b"]
    assert args.configs == ["baseline", "unsloth-recipe", "conf-gpu"]
    assert args.env == "gpu"
    assert args.peak_tflops == 790.0
    assert args.repeats == 1
    assert not args.dry_run


def test_dry_run_shrinks_to_a_cpu_check(bench):
    args = bench.parse_args(["--dry-run", "--shapes", "1b", "3b", "--conversations", "640"])
    assert args.shapes == ["tiny"]
    assert args.conversations <= 24
    assert args.max_length <= 512


@pytest.mark.parametrize(
    "argv",
    [
        ["--length-median", "3000"],  # above --max-length
        ["--conversations", "0"],
        ["--warmup-fraction", "1.0"],
        ["--shapes", "7b"],
        ["--variant", "no-colon"],
        ["--profile-steps", "-1"],
        ["--repeats", "0"],
    ],
)
def test_parse_args_rejects_bad_values(bench, argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert "error" in capsys.readouterr().err


def test_parse_variant_types_values_as_yaml(bench):
    name, changes = bench.parse_variant(
        "mb16:sft.per_device_train_batch_size=16,model.load_in_4bit=false,backend=hf"
    )
    assert name == "mb16"
    assert changes == {
        "sft.per_device_train_batch_size": 16,
        "model.load_in_4bit": False,
        "backend": "hf",
    }


def test_parse_variant_keeps_commas_inside_flow_values(bench):
    _, changes = bench.parse_variant(
        "x:model.compile_options={max_autotune: true, emulate_precision_casts: true},"
        "lora.target_modules=[q_proj, v_proj],sft.seed=1"
    )
    assert changes == {
        "model.compile_options": {"max_autotune": True, "emulate_precision_casts": True},
        "lora.target_modules": ["q_proj", "v_proj"],
        "sft.seed": 1,
    }


def test_parse_variant_rejects_item_without_value(bench):
    with pytest.raises(argparse.ArgumentTypeError, match="'sft.optim' is not key=value"):
        bench.parse_variant("x:sft.optim")


def test_with_overrides_sets_deletes_and_copies(bench):
    params = {"backend": "unsloth", "sft": {"optim": "adamw_8bit", "seed": 1}}
    changed = bench.with_overrides(params, {"sft.optim": "adamw_torch", "sft.seed": None})
    assert changed == {"backend": "unsloth", "sft": {"optim": "adamw_torch"}}
    assert params["sft"] == {"optim": "adamw_8bit", "seed": 1}  # the input is not touched


def test_with_overrides_names_a_missing_block(bench):
    with pytest.raises(KeyError, match="no parameter block 'lora'"):
        bench.with_overrides({"sft": {}}, {"lora.r": 8})


def test_configurations_keep_the_recipe_semantics(bench, project_root):
    """(a), (b), (c): same LoRA, 8 conversations an optimizer step, loss on answers only.

    (c) must be exactly what `kedro run --env gpu` reads, plus the benchmark's timing switches
    and compiled layers (the steady state is the compiled one; `auto` decides per run).
    """
    args = bench.parse_args(["--shapes", "1b", "3b", "--conf-source", str(project_root / "conf")])
    runs = bench.configurations(args)
    assert [(r["shape"], r["name"]) for r in runs] == [
        (shape, name)
        for shape in ("1b", "3b")
        for name in ("baseline", "unsloth-recipe", "conf-gpu")
    ]
    by_name = {r["name"]: r["params"] for r in runs if r["shape"] == "1b"}
    conf_gpu = bench.conf_gpu_params(project_root / "conf", "gpu")
    assert conf_gpu["model"]["compile_layers"] == "auto"
    steady = {**bench.TIMING_OVERRIDES, "model.compile_layers": True}
    assert by_name["conf-gpu"] == bench.with_overrides(conf_gpu, steady)

    recipe = by_name["unsloth-recipe"]
    assert recipe["backend"] == "unsloth"
    assert recipe["model"]["load_in_4bit"] is True
    assert recipe["sft"]["gradient_checkpointing"] is True
    assert recipe["sft"]["optim"] == "adamw_8bit"
    assert recipe["sft"]["learning_rate"] == pytest.approx(2e-4)
    assert by_name["baseline"]["backend"] == "hf"
    for params in by_name.values():
        assert params["lora"] == bench.RECIPE["lora"]
        sft = params["sft"]
        assert sft["per_device_train_batch_size"] * sft["gradient_accumulation_steps"] == 8
        assert sft["learning_rate"] == pytest.approx(2e-4)
        assert sft["eval_strategy"] == "no"
        assert sft["save_strategy"] == "no"
        assert sft["logging_steps"] == 1


def test_variants_run_after_the_three_configurations(bench, project_root):
    args = bench.parse_args(
        [
            "--shapes",
            "1b",
            "3b",
            "--conf-source",
            str(project_root / "conf"),
            "--variant",
            "mb32:sft.per_device_train_batch_size=32",
        ]
    )
    runs = bench.configurations(args)
    assert [(r["shape"], r["name"]) for r in runs][-1] == ("1b", "mb32")
    assert runs[-1]["params"]["sft"]["per_device_train_batch_size"] == 32
    assert runs[-1]["label"] == "(c) + mb32"


def test_variant_env_keys_go_to_the_process_not_the_parameters(bench, project_root):
    args = bench.parse_args(
        [
            "--conf-source",
            str(project_root / "conf"),
            "--variant",
            "padded:env.UNSLOTH_PADDING_CHOICE=padded,sft.per_device_train_batch_size=16",
        ]
    )
    *configs, variant = bench.configurations(args)
    assert variant["env"] == {"UNSLOTH_PADDING_CHOICE": "padded"}
    assert "env" not in variant["params"]
    assert variant["params"]["sft"]["per_device_train_batch_size"] == 16
    assert all(run["env"] == {} for run in configs)


def test_profiled_steps_stay_inside_the_warmup(bench):
    args = bench.parse_args(["--profile-steps", "4", "--min-warmup-steps", "3"])
    assert args.min_warmup_steps == bench.PROFILE_FIRST_STEP + 4
    assert bench.parse_args(["--min-warmup-steps", "3"]).min_warmup_steps == 3


def test_token_counter_leaves_out_padding(bench):
    import torch

    counter = bench._TokenCounter()
    compute = counter.wrap(lambda model, inputs: None)
    padded = {"input_ids": torch.tensor([[5, 6, 0]]), "attention_mask": torch.tensor([[1, 1, 0]])}
    row = {  # a padding-free row padded to a multiple, as TRL's collator makes it
        "input_ids": torch.tensor([[5, 6, 7, 8, 0, 0]]),
        "position_ids": torch.tensor([[0, 1, 0, 1, 0, 0]]),
        "labels": torch.tensor([[-100] * 6]),
    }
    compute(None, padded)
    compute(None, row)
    assert int(counter.total) == 2 + 4


def test_profile_report_says_how_busy_the_gpu_was(bench):
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        torch.ones(64, 64) @ torch.ones(64, 64)
    report = bench.profile_report(profiler, wall_seconds=0.5, steps=2)
    assert report.startswith("2 steps in 0.500 s (250.0 ms a step); GPU kernels 0.000 s (0% busy)")
    assert "aten::mm" in report


def test_profile_report_names_the_lines_that_wait_for_the_device(bench):
    import torch

    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, with_stack=True) as profiler:
        total = torch.ones(8).sum()
        for _ in range(4):
            total.item()  # a host read: on CUDA this waits for every kernel launched before it
    report = bench.host_waits(profiler, steps=2)
    assert report.startswith("Host waits for the GPU: 2.0 a step")
    caller = report.splitlines()[2]  # the innermost Python frame, under its count
    assert report.splitlines()[1].startswith("    2.0 a step")
    assert caller.strip().startswith("aten::_local_scalar_dense <- ")
    assert "test_profile_report_names_the_lines_that_wait_for_the_device" in caller


def test_parameter_count_is_llama32(bench):
    assert bench.parameter_count(bench.SHAPES["1b"]) == 1_235_814_400
    assert bench.parameter_count(bench.SHAPES["3b"]) == 3_212_749_824


@pytest.mark.parametrize(
    ("shape", "recompute", "low", "high"),
    [("1b", False, 140e3, 152e3), ("1b", True, 95e3, 102e3), ("3b", False, 54e3, 59e3)],
)
def test_flop_bound_matches_the_issue(bench, shape, recompute, low, high):
    """The bound worked out beforehand for the H200's 790 TFLOP/s (an 8192^3 bf16 matmul measured
    there): 1B ~146k tokens/s (~98k with recomputation), 3B ~56k, at 2048-token sequences."""
    bound = bench.flop_bound(bench.SHAPES[shape], [2048] * 4, recompute, 790.0)
    assert low < bound < high


def test_flop_bound_rises_for_short_sequences(bench):
    """Attention is quadratic: shorter sequences cost fewer FLOPs per token."""
    dims = bench.SHAPES["1b"]
    assert bench.flop_bound(dims, [256] * 8, False, 790.0) > bench.flop_bound(
        dims, [2048], False, 790.0
    )


def test_steady_state_leaves_out_the_warmup(bench):
    times = [10.0, 11.0, 12.0, 13.0, 14.0]  # a slow first step is the warm-up
    tokens = [100, 1100, 2100, 3100, 4100]
    speed = bench.steady_state(times, tokens, warmup_fraction=0.2, min_warmup=1)
    assert speed["warmup_steps"] == 1
    assert speed["tokens_per_second"] == pytest.approx(1000.0)
    assert speed["step_seconds_median"] == speed["step_seconds_max"] == pytest.approx(1.0)


def test_steady_state_shows_a_stall_it_cannot_hide(bench):
    times = [10.0, 11.0, 12.0, 20.0, 21.0]  # one measured step stalls for 8 s
    tokens = [100, 1100, 2100, 3100, 4100]
    speed = bench.steady_state(times, tokens, warmup_fraction=0.2, min_warmup=1)
    assert speed["tokens_per_second"] == pytest.approx(4000 / 11)  # the stall counts
    assert speed["step_seconds_median"] == pytest.approx(1.0)
    assert speed["step_seconds_max"] == pytest.approx(8.0)


def test_steady_state_refuses_too_few_steps(bench):
    with pytest.raises(ValueError, match="use more --conversations"):
        bench.steady_state([1.0, 2.0], [10, 20], warmup_fraction=0.2, min_warmup=3)


def test_stretch_conversations_keeps_real_turns_and_bounds(bench):
    real = [
        [
            {"role": "system", "content": "sistema"},
            {"role": "user", "content": f"pregunta {i}"},
            {"role": "assistant", "content": " ".join(["palabra"] * (10 + i))},
        ]
        for i in range(20)
    ]

    def count_tokens(turns):
        return sum(len(t["content"].split()) for t in turns)

    answers = {turn[-1]["content"] for turn in real}
    settings = {"n": 50, "median": 60, "sigma": 0.5, "shortest": 30, "longest": 120, "seed": 1}
    made = bench.stretch_conversations(real=real, count_tokens=count_tokens, **settings)
    assert len(made) == 50
    assert made == bench.stretch_conversations(real=real, count_tokens=count_tokens, **settings)
    for index, turns in enumerate(made):
        assert turns[:2] == real[index % 20][:2]
        assert set(turns[-1]["content"].split("\n\n")) <= answers
        assert count_tokens(turns) <= 120
    longest_real = max(count_tokens(t) for t in real)
    assert sum(count_tokens(t) for t in made) / len(made) > longest_real  # stretched


META = {k: k for k in ("command", "date", "device", "libraries", "data", "models")}


def result_row(bench, name, tokens_per_second, round_=1):
    return {
        "shape": "1b",
        "name": name,
        "label": bench.CONFIG_LABELS[name],
        "round": round_,
        "plan": {"backend": "unsloth", "load_in_4bit": False},
        "gradient_checkpointing": False,
        "sft_effective": {
            "per_device_train_batch_size": 8,
            "gradient_accumulation_steps": 1,
            "padding_free": True,
        },
        "tokens_per_second": tokens_per_second,
        "step_seconds_median": 0.0855,
        "step_seconds_max": 0.7373,
        "peak_memory_bytes": 2**30,
        "flop_bound_tokens_per_second": 100_000.0,
        "utilisation_of_bound": tokens_per_second / 100_000,
        "model_flops_utilisation": 0.1,
        "trained_token_fraction": 0.6,
        "loss": [{"step": 1, "loss": 2.5}],
    }


def test_markdown_shows_failures_and_ratio_to_the_recipe(bench):
    failed = {
        "shape": "1b",
        "name": "baseline",
        "label": "(a)",
        "round": 1,
        "error": "timed out after 9 s",
    }
    table = bench.markdown(
        [
            failed,
            result_row(bench, "unsloth-recipe", 5_000.0),
            result_row(bench, "conf-gpu", 20_000.0),
        ],
        META,
    )
    assert "failed: timed out after 9 s" in table
    assert "| 20,000 | 4.00x | 86, 737 | 1.0 GiB |" in table
    assert "round" not in table  # one round: no round labels, no median table


def test_full_collections_are_timed_with_the_step_they_fell_in(bench):
    import gc

    marks = {"times": [1.0, 2.0], "gc_full": []}  # two steps finished: the third is running
    hook = bench.full_collection_clock(marks)
    gc.callbacks.append(hook)
    try:
        gc.collect(0)  # a young collection: not recorded
        gc.collect()
    finally:
        gc.callbacks.remove(hook)
    assert [c["step"] for c in marks["gc_full"]] == [3]
    assert marks["gc_full"][0]["seconds"] > 0


def test_markdown_names_full_collections_in_the_measured_steps(bench):
    quiet = result_row(bench, "unsloth-recipe", 5_000.0)
    stalled = {
        **result_row(bench, "conf-gpu", 20_000.0),
        "full_gc_measured": {"count": 1, "seconds": 0.74},
    }
    table = bench.markdown([quiet, stalled], META)
    assert "measured steps: (c) conf/gpu 1 (0.74 s)." in table
    assert "measured steps: none." in bench.markdown([quiet], META)


def test_markdown_compares_within_a_round_and_gives_medians(bench):
    rows = [
        result_row(bench, "unsloth-recipe", 5_000.0, 1),
        result_row(bench, "conf-gpu", 20_000.0, 1),
        result_row(bench, "unsloth-recipe", 4_000.0, 2),
        result_row(bench, "conf-gpu", 24_000.0, 2),
        result_row(bench, "unsloth-recipe", 2_500.0, 3),
        {**result_row(bench, "conf-gpu", 0.0, 3), "error": "exit code -11"},
    ]
    table = bench.markdown(rows, META)
    assert "| 1b | (c) conf/gpu, round 2 | unsloth |" in table
    assert "| 24,000 | 6.00x |" in table  # against round 2's recipe, not round 1's
    assert "| 1b | (c) conf/gpu, round 3 | failed: exit code -11 |" in table
    # (c): two finished rounds, median of 20k and 24k, median of 4.00x and 6.00x
    assert "| 1b | (c) conf/gpu | 2 | 22,000 | 20,000 - 24,000 | 5.00x |" in table
    assert "| 1b | (b) Unsloth notebook recipe | 3 | 4,000 | 2,500 - 5,000 | 1.00x |" in table
    medians = table.split("Over the rounds")[1]
    assert medians.index("(b) Unsloth") < medians.index("(c) conf/gpu")  # the run's order


@pytest.mark.slow
def test_dry_run_trains_through_the_project_trainers(smollm2_tokenizer_dir, tmp_path):
    """--dry-run end to end on the CPU (tiny model, the hf fallback): the worker still fits the
    project's trainer API and writes a result row with real tokens and losses (~2 min)."""
    import json
    import os
    import subprocess

    out = tmp_path / "out"
    data = tmp_path / "tutor_train.jsonl"  # CI's clean clone has no formatted data
    data.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "system", "content": "Eres un tutor de Python."},
                        {"role": "user", "content": f"¿Qué hace `len` en el ejemplo {i}?"},
                        {"role": "assistant", "content": "Devuelve el número de elementos. " * 3},
                    ]
                }
            )
            + "\n"
            for i in range(8)
        ),
        encoding="utf-8",
    )
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "train_throughput.py"),
        "--dry-run",
        "--data",
        str(data),
        "--configs",
        "baseline",
        "conf-gpu",
        "--conversations",
        "16",
        "--tokenizer",
        str(smollm2_tokenizer_dir),
        "--work-dir",
        str(tmp_path / "work"),
        "--out",
        str(out),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=dict(os.environ), check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    baseline, conf_gpu = json.loads((out / "train_throughput.json").read_text())["rows"]
    for row in (baseline, conf_gpu):
        assert row["plan"]["backend"] == "hf"
        assert row["tokens_per_second"] > 0
        assert 0 < row["trained_token_fraction"] < 1  # the prompt is masked, the answer is not
        assert len(row["loss"]) == row["steps"] == 2
    # conf/gpu's padding-free rows (padded to 256) count the same real tokens as padded batches
    assert conf_gpu["sft_effective"]["padding_free"] is True
    assert conf_gpu["tokens_total"] == baseline["tokens_total"]
    assert conf_gpu["trained_token_fraction"] == pytest.approx(baseline["trained_token_fraction"])
    # conf/gpu compiles its decoder layers (Inductor works on the CPU too), without graph breaks
    assert conf_gpu["compiled_graphs"] > 0 and conf_gpu["graph_breaks"] == {}
    assert baseline["compiled_graphs"] == 0
    assert (out / "train_throughput_loss.png").stat().st_size > 0


def test_unsloth_tuned_is_the_recipe_run_as_conf_gpu_runs(bench, project_root):
    """(d): the recipe's learning (LoRA, lr, 8 conversations a step) with conf/gpu's execution
    choices that Unsloth has: 16-bit base, one micro-batch of 8, no recomputation, fused AdamW;
    padded or padding-free."""
    args = bench.parse_args(
        ["--configs", "unsloth-tuned", "unsloth-tuned-padding-free", "conf-gpu"]
        + ["--conf-source", str(project_root / "conf")]
    )
    by_name = {r["name"]: r["params"] for r in bench.configurations(args)}
    conf_sft = by_name["conf-gpu"]["sft"]
    for name, padding_free in (("unsloth-tuned", False), ("unsloth-tuned-padding-free", True)):
        params = by_name[name]
        assert params["backend"] == "unsloth"
        assert params["model"]["load_in_4bit"] is False
        assert params["lora"] == bench.RECIPE["lora"]
        sft = params["sft"]
        for key in ("per_device_train_batch_size", "gradient_accumulation_steps", "optim"):
            assert sft[key] == conf_sft[key], key
        assert sft["gradient_checkpointing"] is False
        assert sft["padding_free"] is padding_free
        assert sft["learning_rate"] == pytest.approx(2e-4)


def test_time_to_adapter_lets_the_break_even_decide(bench, project_root, tmp_path):
    args = bench.parse_args(
        ["--time-to-adapter", "--configs", "conf-gpu", "--compile-cache", str(tmp_path)]
        + ["--conf-source", str(project_root / "conf")]
    )
    assert args.conversations == bench.ADAPTER_CONVERSATIONS == 18000
    (run,) = bench.configurations(args)
    assert run["params"]["model"]["compile_layers"] == "auto"
    assert run["params"]["model"]["compile_cache_dir"] == str(tmp_path)
    assert bench.parse_args([]).conversations == 640


def test_resampled_conversations_keep_the_real_lengths(bench):
    real = [
        [{"role": "user", "content": "a" * n}, {"role": "assistant", "content": "b"}]
        for n in (3, 50, 700)
    ]
    drawn = bench.resample_conversations(real, 300, seed=1)
    assert len(drawn) == 300
    assert {len(c[0]["content"]) for c in drawn} == {3, 50, 700}  # only real ones, all of them
    drawn[0][0]["content"] = "changed"
    assert all(c[0]["content"] != "changed" for c in real)  # copies, not the originals


def adapter_row(name, seconds, compiled):
    return {
        "shape": "1b",
        "name": name,
        "label": name,
        "round": 1,
        "time_to_adapter_seconds": seconds,
        "setup_seconds": 20.0,
        "train_seconds": seconds - 30,
        "tokens_total": 1_000_000,
        "compile": {"compile": compiled, "reason": "the break-even"},
        "loss": [{"step": 1, "loss": 11.0}, {"step": 2, "loss": 10.5}],
        "conversations_per_step": 8,
    }


def test_time_to_adapter_table_compares_with_unsloth_tuned(bench):
    meta = {"command": "c", "date": "d", "device": "H200", "libraries": "l", "data": "x"}
    meta["models"] = "m"
    rows = [adapter_row("conf-gpu", 100.0, True), adapter_row("unsloth-tuned", 250.0, False)]
    table = bench.adapter_markdown(rows, meta)
    assert "| 1b | conf-gpu | 100 s | 2.50x | 20 s | 70 s | 1,000,000 | 14,286 | yes |" in table
    assert "| 1b | unsloth-tuned | 250 s | 1.00x |" in table


def test_results_of_separate_calls_combine_into_one_report(bench, tmp_path):
    meta = {"command": "c1", "date": "d1", "device": "H200", "libraries": "l", "data": "x"}
    meta["models"] = "m"
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(
        json.dumps(
            {"meta": meta, "lengths": [3, 4], "rows": [adapter_row("conf-gpu", 100.0, True)]}
        )
    )
    second.write_text(json.dumps({
        "meta": {**meta, "command": "c2", "date": "d2"},
        "lengths": [3, 4],
        "rows": [adapter_row("unsloth-tuned", 250.0, False)],
    }))  # fmt: skip
    table = bench.combine_results([first, second], tmp_path / "out", time_to_adapter=True)
    assert "Command: `c1`; `c2`" in table and "Date: d1; d2." in table
    assert "| 1b | conf-gpu | 100 s | 2.50x |" in table  # compared across the two calls
    assert (tmp_path / "out" / "train_throughput_time_to_adapter.md").read_text() == table
    second.write_text(json.dumps({"meta": meta, "lengths": [3, 5], "rows": []}))
    with pytest.raises(SystemExit, match="other conversations"):
        bench.combine_results([first, second], tmp_path / "out", time_to_adapter=True)


def test_the_faster_unsloth_tuned_row_is_named(bench):
    rows = [
        {"shape": "1b", "name": "conf-gpu", "label": "(c)", "round": 1, "tokens_per_second": 60e3},
        {"shape": "1b", "name": "unsloth-tuned", "label": "(d) padded", "round": 1,
         "tokens_per_second": 20e3},
        {"shape": "1b", "name": "unsloth-tuned-padding-free", "label": "(d) padding-free",
         "round": 1, "tokens_per_second": 24e3},
    ]  # fmt: skip
    assert bench.best_unsloth_tuned(rows) == (
        "1b: Unsloth at its best here is (d) padding-free, 24,000 real tokens/s; "
        "(c) conf/gpu is 2.50x."
    )
