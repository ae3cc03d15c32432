"""Kaggle-scale run: ingestion, translation (cold, then warm cache) and formatting on 18k rows.

    KEDRO_DISABLE_TELEMETRY=true .venv/bin/python benchmarks/kaggle_scale_run.py \
        --rows 18000 --out benchmarks/results/kaggle_scale_run.md

The rows come from ``kaggle_scale_data.py`` (real functions and docstrings of the installed
packages and the standard library, in the 18k alpaca and CodeSearchNet shapes). They are run
through the project's own ``kedro run --pipelines ingestion,translation,formatting`` in a
throw-away copy of the project (its conf/base with those sources, its own data/ and cache), so
the times are what a user waits for, Kedro start-up, versioned saves and tracking included.
The same command then runs again on the filled cache. Peak memory is the largest sum of PSS
(proportional set size: pages shared by forked workers counted once) over the kedro process
and its children (Apertium, planning workers), sampled every 0.2 s with psutil.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import yaml

from python_tutor.machine import machine

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = "ingestion,translation,formatting"
LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)


def project_copy(folder: Path, data: Path) -> Path:
    """A copy of the project that reads the generated CSVs and shares only the set-up caches."""
    project = folder / "project"
    project.mkdir()
    shutil.copytree(ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(ROOT / name, project / name)
    for layer in LAYERS:
        (project / "data" / layer).mkdir(parents=True)
    sources = yaml.safe_load((data / "parameters_ingestion.yml").read_text())
    (project / "conf" / "base" / "parameters_ingestion.yml").write_text(
        yaml.safe_dump({"ingestion": {**sources["ingestion"], "limits": _limits()}})
    )
    for csv in data.glob("*.csv"):
        shutil.copy(csv, project / "data" / "01_raw" / csv.name)
    # The converted base model and the compiled Apertium mode are set-up products, not run work.
    (project / "data" / "06_models" / "base").symlink_to(ROOT / "data" / "06_models" / "base")
    (project / ".cache").symlink_to(ROOT / ".cache")
    (project / "src").mkdir()  # the package itself is imported from the installed project
    return project


def _limits() -> dict:
    text = (ROOT / "conf" / "base" / "parameters_ingestion.yml").read_text()
    return yaml.safe_load(text)["ingestion"]["limits"]


def timed_run(project: Path, log: Path) -> tuple[float, float, int]:
    """(seconds, peak PSS of the process tree in GB, exit code) of one kedro run."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    kedro = Path(sys.executable).parent / "kedro"
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(kedro), "run", "--pipelines", PIPELINES],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            root = psutil.Process(process.pid)
            while not done.is_set():
                total = 0
                for proc in [root, *_children(root)]:
                    try:
                        total += proc.memory_full_info().pss
                    except psutil.Error:  # ended between listing and reading
                        pass
                peak = max(peak, total)
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    return time.perf_counter() - started, peak / 1e9, code


def _children(root: psutil.Process) -> list[psutil.Process]:
    try:
        return root.children(recursive=True)
    except psutil.Error:
        return []


def latest(project: Path, relative: str) -> dict:
    """The newest version of a versioned JSON report of the copy."""
    folder = project / "data" / relative
    version = sorted(p for p in folder.iterdir() if p.is_dir())[-1]
    return json.loads((version / folder.name).read_text())


def main(argv: list[str] | None = None) -> None:
    """Generate, run cold, run warm, write the results of record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=18000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/kaggle_scale_run.md")
    parser.add_argument("--keep", type=Path, help="keep the project copy here (logs, reports)")
    args = parser.parse_args(argv)
    host = machine()
    folder = Path(tempfile.mkdtemp(prefix="kaggle_scale_"))
    data = folder / "raw"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "kaggle_scale_data.py"),
            "--out",
            str(data),
            "--rows",
            str(args.rows),
            "--codesearchnet",
        ],
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    generated = time.perf_counter() - started
    project = project_copy(folder, data)
    runs = []
    for name in ("cold cache", "warm cache"):
        seconds, peak, code = timed_run(project, folder / f"{name.split()[0]}.log")
        if code:
            raise SystemExit(f"kedro run failed ({name}); see {folder / name.split()[0]}.log")
        translation = latest(project, "08_reporting/translation_report.json")
        formatting = latest(project, "08_reporting/formatting_report.json")
        runs.append((name, seconds, peak, translation, formatting))
        print(f"{name}: {seconds:.1f} s, peak {peak:.2f} GB", flush=True)
    ingestion = latest(project, "08_reporting/ingestion_report.json")
    write(args.out, host, args.rows, generated, ingestion, runs)
    if args.keep:
        shutil.copytree(folder, args.keep, symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(folder)


def write(  # noqa: PLR0917 - the parts of one result
    out: Path, host: str, rows: int, generated: float, ingestion: dict, runs: list
) -> None:
    """The Markdown result of record and its JSON twin."""
    lines = [
        "# Kaggle-scale run: ingestion + translation + formatting",
        "",
        f"Command: `KEDRO_DISABLE_TELEMETRY=true .venv/bin/python benchmarks/kaggle_scale_run.py "
        f"--rows {rows} --out {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}`",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {host}.",
        "",
        f"Data: {ingestion['rows_in']} rows generated in {generated:.0f} s by "
        "`kaggle_scale_data.py` from the functions and docstrings of the installed packages "
        f"and the standard library; ingestion kept {ingestion['kept']}, rejected "
        f"{ingestion['rejected']}, {ingestion['duplicates']} duplicates.",
        "",
        "Target (issue 18): cold run at most 300 s and 2 GB peak; warm re-run under 30 s.",
        "",
        "| run | whole `kedro run` (s) | peak memory, PSS of the process tree (GB) | segments "
        "| sent to Apertium | translation node (s) | kept | rejected | flagged | conversations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, seconds, peak, translation, formatting in runs:
        engine = translation["engine"]
        lines.append(
            f"| {name} | {seconds:.1f} | {peak:.2f} | {engine['segments_unique']} | "
            f"{engine['segments_translated']} | {engine['seconds']:.1f} | {translation['kept']} | "
            f"{translation['rejected']} | {translation['flagged']} | {formatting['kept']} |"
        )
    translation = runs[0][3]
    lines += [
        "",
        f"Rejected by reason (cold run): {translation['rejected_by_reason']}. "
        f"Quality flags: {translation['quality_flags']}.",
        f"Formatting rejections by reason: {runs[0][4]['by_reason']}.",
        "",
    ]
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "machine": host,
                "rows": rows,
                "generated_s": generated,
                "ingestion": ingestion,
                "runs": [
                    {"run": n, "seconds": s, "peak_gb": p, "translation": t, "formatting": f}
                    for n, s, p, t, f in runs
                ],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
