"""What bubblewrap costs per snippet: the evaluation runs one sandbox per test case of each problem.

    .venv/bin/python benchmarks/sandbox_overhead.py --runs 150 \
        --out benchmarks/results/sandbox_overhead.md

Interleaves, in one process, ``run_snippet`` of a HumanEval-shaped snippet (a function and a
``check`` with asserts) under ``isolation: bubblewrap`` and ``rlimits-only``, and a bare
``python -I -S -c pass`` with and without ``bwrap`` around it, so that load from other jobs hits
every row alike. Reports wall-clock medians and minima (CPU time of bwrap's children is not
reliably reported to us: its pid namespace's init reaps them).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from python_tutor.machine import machine
from python_tutor.pipelines.evaluation.sandbox import (
    BUBBLEWRAP,
    RLIMITS_ONLY,
    SandboxLimits,
    bubblewrap_command,
    interpreter,
    run_snippet,
)

SNIPPET = """def double(x):
    return x * 2


def check(candidate):
    assert candidate(2) == 4
    assert candidate(-1) == -2


check(double)
"""


def cases() -> dict[str, Callable[[], None]]:
    bare = [interpreter(), "-I", "-S", "-c", "pass"]
    wrapped = [*bubblewrap_command(SandboxLimits()), *bare]

    def snippet(isolation: str) -> Callable[[], None]:
        limits = SandboxLimits(isolation=isolation)

        def run() -> None:
            result = run_snippet(SNIPPET, limits)
            if not result.ok:
                raise RuntimeError(f"{isolation}: {result.reason}")

        return run

    return {
        f"run_snippet, {BUBBLEWRAP}": snippet(BUBBLEWRAP),
        f"run_snippet, {RLIMITS_ONLY}": snippet(RLIMITS_ONLY),
        "python -I -S -c pass under bwrap": lambda: subprocess.run(wrapped, check=True),  # noqa: S603
        "python -I -S -c pass": lambda: subprocess.run(bare, check=True),  # noqa: S603
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    timed = cases()
    for run in timed.values():  # the one-off bubblewrap probe and warm caches
        run()
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.runs):
        for name, run in timed.items():
            began = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - began)
    lines = [
        "# Sandbox: cost of bubblewrap per snippet",
        "",
        f"Command: `.venv/bin/python benchmarks/sandbox_overhead.py --runs {args.runs} "
        f"--out {args.out}`",
        "",
        f"Machine: {machine()}, {platform.platform()}. Load average at the end: "
        f"{os.getloadavg()[0]:.1f}; the rows are interleaved, so they share any noise.",
        "",
        f"| what ({args.runs} runs each) | median ms | min ms |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {statistics.median(values) * 1000:.1f} | {min(values) * 1000:.1f} |"
        for name, values in seconds.items()
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
