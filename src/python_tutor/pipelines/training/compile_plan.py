"""Compile the decoder layers only when the run is long enough to repay the compiling.

Compiling (``training.model.compile_layers``) makes each step faster but costs a fixed time at
the start: about 110 s for the Llama-3.2-1B shape on an H200 with ``conf/gpu``'s options. How
much faster depends on the tokens a step holds: a step of 8 conversations is bound by the host
at about 0.1 s compiled, so at a median of 512 tokens compiling doubles the speed (44k against
~21k real tokens/s) and at the sample's real lengths (mean 298) it gains ~7% (25.2k against
23.6k). A user waits for the whole run, so ``compile_layers: auto`` compiles only when the
tokens the run will train on save more time than compiling costs:
``tokens * (1/eager - 1/compiled) > compile seconds``, with both speeds measured on the data's
lengths (``training.model.compile_break_even``). Inductor's FX-graph and AOTAutograd caches are
kept under ``training.model.compile_cache_dir``, so a repeated run (same shapes and options)
compiles sooner (47 s against 110 on the H200); the decision then uses
``cached_compile_seconds``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

BREAK_EVEN_KEYS = (
    "compile_seconds",
    "cached_compile_seconds",
    "compiled_tokens_per_second",
    "eager_tokens_per_second",
)
# Where Inductor keeps each cache under its cache directory (torch 2.9-2.13).
CACHE_SUBDIRS = ("fxgraph", "aotautograd")


@dataclass(frozen=True)
class CompileDecision:
    """Whether the layers are compiled, and the numbers behind it (kept in training_metrics)."""

    compile: bool
    setting: bool | str
    reason: str
    planned_tokens: int
    break_even_tokens: float | None
    compile_seconds: float | None
    cache_dir: str | None
    cache_warm: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def planned_tokens(
    lengths: Sequence[int],
    *,
    conversations_per_step: int,
    epochs: float,
    max_steps: int,
    processes: int = 1,
) -> int:
    """Real tokens one process will train on: the epochs' (or ``max_steps``') share of the data.

    ``lengths`` are the tokenized training conversations (no padding). With ``max_steps`` above
    0 the Trainer stops there, whatever the epochs say.
    """
    if not lengths:
        return 0
    steps_per_epoch = math.ceil(len(lengths) / (conversations_per_step * processes))
    steps = max_steps if max_steps > 0 else math.ceil(epochs * steps_per_epoch)
    return round(sum(lengths) / processes * steps / steps_per_epoch)


def cache_is_warm(cache_dir: Path | None) -> bool:
    """Inductor's caches under ``cache_dir`` hold entries from an earlier run."""
    if cache_dir is None:
        return False
    return any(
        (cache_dir / sub).is_dir() and any((cache_dir / sub).iterdir()) for sub in CACHE_SUBDIRS
    )


def decide_compile(
    setting: Any,
    *,
    tokens: int,
    break_even: Mapping[str, Any] | None,
    cache_dir: Path | None,
) -> CompileDecision:
    """``compile_layers`` resolved: true and false as given, ``auto`` by the break-even.

    Raises:
        ValueError: a setting other than true/false/auto, or ``auto`` without a complete
            ``training.model.compile_break_even`` whose compiled speed beats the eager one.
    """
    if not (isinstance(setting, bool) or setting == "auto"):
        raise ValueError(
            f"training.model.compile_layers: {setting!r}; expected true, false or auto"
        )
    warm = cache_is_warm(cache_dir)
    common = {
        "setting": setting,
        "planned_tokens": int(tokens),
        "cache_dir": str(cache_dir) if cache_dir else None,
        "cache_warm": warm,
    }
    if setting == "auto":
        return _break_even(tokens, break_even, warm, common)
    reason = "training.model.compile_layers is " + str(setting).lower()
    return CompileDecision(
        compile=setting, reason=reason, break_even_tokens=None, compile_seconds=None, **common
    )


def _break_even(
    tokens: int, break_even: Mapping[str, Any] | None, warm: bool, common: dict[str, Any]
) -> CompileDecision:
    missing = [key for key in BREAK_EVEN_KEYS if (break_even or {}).get(key) is None]
    if missing:
        names = ", ".join(f"training.model.compile_break_even.{key}" for key in missing)
        raise ValueError(f"training.model.compile_layers: auto needs {names}")
    assert break_even is not None  # for the type checker: `missing` was empty
    compiled = float(break_even["compiled_tokens_per_second"])
    eager = float(break_even["eager_tokens_per_second"])
    if not compiled > eager > 0:
        raise ValueError(
            "training.model.compile_break_even: compiled_tokens_per_second must exceed "
            f"eager_tokens_per_second (> 0); got {compiled} and {eager}"
        )
    key = "cached_compile_seconds" if warm else "compile_seconds"
    seconds = float(break_even[key])
    threshold = seconds / (1 / eager - 1 / compiled)
    compile_now = tokens > threshold
    reason = (
        f"{tokens:,} planned tokens {'>' if compile_now else '<='} {threshold:,.0f}, the "
        f"break-even of {seconds:g} s compiling ({key}) at {eager:,.0f} -> {compiled:,.0f} "
        "tokens/s"
    )
    return CompileDecision(
        compile=compile_now,
        reason=reason,
        break_even_tokens=threshold,
        compile_seconds=seconds,
        **common,
    )


def use_compile_cache(cache_dir: Path) -> None:
    """Keep Inductor's FX-graph and AOTAutograd caches (and Triton's kernels) in ``cache_dir``.

    Inductor reads ``TORCHINDUCTOR_CACHE_DIR`` whenever it looks for its cache, so setting it
    before the first compile of the process is enough; both caches are switched on explicitly
    (they are on by default in torch 2.9+, but environment switches can turn them off).
    """
    import torch._functorch.config as functorch_config  # noqa: PLC0415
    import torch._inductor.config as inductor_config  # noqa: PLC0415

    cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir.resolve())
    inductor_config.fx_graph_cache = True
    functorch_config.enable_autograd_cache = True
    logger.info("torch.compile caches in %s", cache_dir)
