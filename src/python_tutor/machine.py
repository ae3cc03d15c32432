"""The machine a run or benchmark ran on: the CPU model and the flags that decide its speed.

bf16 is native on x86-64 only with AVX512-BF16 or AMX (``precision.auto`` follows it), and the
same run took 3.7x longer on an AVX2-only CPU than on an AMX one (issue 23). Every metrics
record and benchmark result carries this record, so figures from different machines are never
compared blind.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

# avx2: llama.cpp's portable build and ATen's fast path; avx512f: wider fp32 kernels;
# avx512_bf16 / amx_*: native bf16 matmuls in oneDNN.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
CPUINFO = Path("/proc/cpuinfo")


def cpu() -> dict[str, Any]:
    """CPU model, which of ``SPEED_FLAGS`` it has, and its cores.

    Linux reads /proc/cpuinfo; elsewhere the model is ``platform.processor()`` and the flags are
    ``None`` (unknown, not "none").
    """
    model, flags = platform.processor() or platform.machine() or "unknown", None
    if CPUINFO.is_file():
        for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in {"unknown", "", "x86_64"}:
                model = value.strip()
            elif key.strip() == "flags" and flags is None:
                present = set(value.split())
                flags = [flag for flag in SPEED_FLAGS if flag in present]
    return {"model": model, "flags": flags, "cores": os.cpu_count(), "usable_cores": usable_cores()}


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cpu_threads(setting: int | None) -> int:
    """A thread-count parameter: ``null`` means every usable core, as on any CPU family."""
    return usable_cores() if setting is None else int(setting)


def machine() -> str:
    """One line for benchmark results: CPU, flags, cores, Python and the load when measured."""
    info = cpu()
    if info["flags"] is None:
        flags = "unknown"
    else:
        flags = " ".join(info["flags"]) or "none of avx2/avx512"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{info['model']}, {info['cores']} cores, flags {flags}; "
        f"Python {platform.python_version()}; load average {load} at the start"
    )
