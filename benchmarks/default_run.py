"""Wall time of the default CPU run, pipeline by pipeline, from an empty data folder.

    .venv/bin/python benchmarks/default_run.py --out benchmarks/results/default_run.md

Copies conf/ and the raw data into a scratch project (so the working tree's data/ is never
touched), then runs `kedro run --pipeline NAME` for each stage in order, timing each command.
The first stage that needs the base model also pays its one-time conversion from the PyPI GGUF.
The result names the CPU and its flags, the compute precision each stage resolved (read from
its own metrics) and any CPU emulation in the environment: an AVX2-only CPU can be emulated on a
newer one with ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` (docs/precision.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from python_tutor.machine import machine
from python_tutor.precision import probe

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("ingestion", "translation", "formatting", "training", "export", "evaluation")
# MKL_ENABLE_INSTRUCTIONS holds MKL's own kernels (torch's fp32 matmuls) to an instruction set
EMULATION_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def scratch_project(folder: Path) -> Path:
    """conf/, raw CSVs, src/ and pyproject.toml: enough for `kedro run` to find the project."""
    shutil.copytree(ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    shutil.copytree(ROOT / "src", folder / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    raw = folder / "data" / "01_raw"
    raw.mkdir(parents=True)
    for source in (ROOT / "data" / "01_raw").iterdir():
        if source.is_file() and source.suffix in {".csv", ".jsonl"}:
            shutil.copy(source, raw / source.name)
    (folder / ".cache").mkdir()
    # Set-up products of `make`: llama.cpp's converter and the compiled Apertium tutor mode.
    for product in [*(ROOT / ".cache").glob("llama.cpp-*"), ROOT / ".cache" / "apertium"]:
        if product.exists():
            (folder / ".cache" / product.name).symlink_to(product.resolve())
    return folder


def resolved_precisions(project: Path) -> dict[str, str]:
    """The compute precision each stage recorded in its own metrics (what really ran)."""
    reports = project / "data" / "08_reporting"

    def read(name: str) -> object:
        """A report, versioned (``<name>/<version>/<name>``, the latest) or not."""
        path = reports / name
        if path.is_dir():
            versions = sorted(path.glob(f"*/{name}"))
            path = versions[-1] if versions else path
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    converted = sorted((project / "data" / "06_models" / "base").glob("*/provenance.json"))
    base = json.loads(converted[0].read_text(encoding="utf-8")) if converted else None
    training, export, evaluation = (
        read(f"{name}.json") for name in ("training_metrics", "export_report", "evaluation_metrics")
    )
    evaluated = [row.get("precision") for row in evaluation or [] if row.get("precision")]
    return {
        "base conversion": dig(base, "compute_precision"),
        "training": dig(training, "precision"),
        "export merge": dig(export, "merge", "compute_precision", "precision"),
        "export fidelity": dig(export, "fidelity", "transformers_precision", "precision"),
        "evaluation": dig(evaluated[0] if evaluated else None, "precision"),
    }


def dig(record: object, *keys: str) -> object:
    """``record[k1][k2]...``, or None where a level is missing (a stage that did not record)."""
    for key in keys:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def children_cpu_seconds() -> float:
    """User + system seconds of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def emulation_variables() -> list[str]:
    """``NAME=value`` of the CPU-emulating variables set for this run."""
    return [f"{name}={os.environ[name]}" for name in EMULATION_VARIABLES if name in os.environ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--keep", type=Path, help="copy the run's data/08_reporting here")
    args = parser.parse_args()
    kedro = Path(sys.executable).with_name("kedro")
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    host = machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="python_tutor_run_") as scratch:
        project = scratch_project(Path(scratch))
        for stage in STAGES:
            began, cpu_before = time.perf_counter(), children_cpu_seconds()
            subprocess.run(
                [str(kedro), "run", "--pipeline", stage],
                cwd=project,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            rows.append((stage, time.perf_counter() - began, children_cpu_seconds() - cpu_before))
            print(f"{stage}: {rows[-1][1]:.1f} s, {rows[-1][2]:.1f} CPU s", flush=True)
        precisions = resolved_precisions(project)
        if args.keep:
            shutil.copytree(project / "data" / "08_reporting", args.keep, dirs_exist_ok=True)
    total, total_cpu = (sum(row[column] for row in rows) for column in (1, 2))
    support = probe()
    emulated = emulation_variables()
    lines = [
        "# Default CPU run, pipeline by pipeline",
        "",
        f"Command: `{' '.join([*emulated, '.venv/bin/python'])} benchmarks/default_run.py "
        f"--out {args.out}`  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.  ",
        f"Machine: {host} (shared: timings drift); "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end.  ",
        f"oneDNN native bf16: {support.cpu_bf16}. Compute precision per stage (`auto`): "
        + ", ".join(f"{stage} {value}" for stage, value in precisions.items())
        + ".",
        *(
            [
                f"**Emulated CPU**: run with `{' '.join(emulated)}`, so torch and oneDNN use only "
                "those instructions; this is NOT a real CPU of that kind (clocks, caches and "
                "memory are this machine's; llama.cpp is not affected).",
                "",
            ]
            if emulated
            else [""]
        ),
        "| pipeline | wall seconds | CPU seconds |",
        "|---|---:|---:|",
        *(f"| {stage} | {seconds:.1f} | {cpu:.1f} |" for stage, seconds, cpu in rows),
        f"| **total** | **{total:.1f}** | **{total_cpu:.1f}** |",
        "",
        "Each row is one `kedro run --pipeline NAME` process (Kedro start-up included); the",
        "first stage that needs the base model (formatting) converts it from the PyPI GGUF.",
        "CPU seconds: user + system of that process and its children, summed over cores (more",
        "than the wall time when several cores work; inflated by spinning threads when other",
        "jobs share the cores).",
    ]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
