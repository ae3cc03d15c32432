"""Wall time of the default CPU run, pipeline by pipeline, from an empty data folder.

    .venv/bin/python benchmarks/default_run.py --out benchmarks/results/default_run.md

Copies conf/ and the raw data into a scratch project (so the working tree's data/ is never
touched), then runs `kedro run --pipeline NAME` for each stage in order, timing each command.
The first stage that needs the base model also pays its one-time conversion from the PyPI GGUF.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("ingestion", "translation", "formatting", "training", "export", "evaluation")


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
    for converter in (ROOT / ".cache").glob("llama.cpp-*"):
        (folder / ".cache" / converter.name).symlink_to(converter)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    args = parser.parse_args()
    kedro = Path(sys.executable).with_name("kedro")
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="python_tutor_run_") as scratch:
        project = scratch_project(Path(scratch))
        for stage in STAGES:
            began = time.perf_counter()
            subprocess.run(
                [str(kedro), "run", "--pipeline", stage],
                cwd=project,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            rows.append((stage, time.perf_counter() - began))
            print(f"{stage}: {rows[-1][1]:.1f} s", flush=True)
    total = sum(seconds for _, seconds in rows)
    lines = [
        "# Default CPU run, pipeline by pipeline",
        "",
        f"Command: `.venv/bin/python benchmarks/default_run.py --out {args.out}`  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {os.cpu_count()} CPU cores, "
        f"{platform.machine()}, Python {platform.python_version()}, shared (timings drift).",
        "",
        "| pipeline | wall seconds |",
        "|---|---:|",
        *(f"| {stage} | {seconds:.1f} |" for stage, seconds in rows),
        f"| **total** | **{total:.1f}** |",
        "",
        "Each row is one `kedro run --pipeline NAME` process (Kedro start-up included); the",
        "first stage that needs the base model (formatting) converts it from the PyPI GGUF.",
    ]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
