"""One precision rule for every stage that runs a model (base conversion, training, export
merge and fidelity check, evaluation).

``auto`` computes in bf16 only where it is native, else fp32 on the CPU and fp16 on CUDA.
On a CPU bf16 is native when oneDNN says so (AVX512-BF16 or AMX); elsewhere oneDNN emulates it
and a bf16 matmul ran ~55x slower than fp32 (1.2 against 67 GFLOP/s, docs/precision.md). On
CUDA it is native from compute capability 8.0 (Ampere); ``torch.cuda.is_bf16_supported()``
alone also says yes where it is emulated (T4). An explicit setting is honoured even when it
would be emulated, with one warning that it is slow.

This is the *compute* dtype. What a stage *stores* (the bf16 base checkpoint, the merged
checkpoint's ``save_dtype``, the GGUF ``outtype``) is set apart and never follows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
ALIASES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32"}
TORCH_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
_WARNED: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class NativeSupport:
    """Which 16-bit formats this machine computes natively."""

    cuda: bool
    cuda_bf16: bool
    cpu_bf16: bool
    cpu_fp16: bool

    def native(self, precision: str, device: str) -> bool:
        """Whether ``precision`` runs in hardware on ``device`` (cpu | cuda)."""
        if precision == "fp32" or (device == "cuda" and precision == "fp16"):
            return True
        if device == "cuda":
            return self.cuda_bf16
        return self.cpu_bf16 if precision == "bf16" else self.cpu_fp16


@dataclass(frozen=True)
class Precision:
    """The compute precision a stage resolved, and what it was asked for."""

    name: str  # bf16 | fp16 | fp32
    requested: str
    device: str
    native: bool

    @property
    def torch_name(self) -> str:
        """The torch dtype's name: ``getattr(torch, precision.torch_name)``."""
        return TORCH_NAMES[self.name]

    def as_dict(self) -> dict[str, Any]:
        """Plain values for metrics and reports."""
        return {
            "precision": self.name,
            "requested": self.requested,
            "device": self.device,
            "native": self.native,
        }


def probe() -> NativeSupport:
    """Ask torch: oneDNN for the CPU, the compute capability for CUDA (no emulation)."""
    import torch  # noqa: PLC0415 - heavy, only when a stage resolves

    cuda = torch.cuda.is_available()
    mkldnn = torch.ops.mkldnn
    return NativeSupport(
        cuda=cuda,
        cuda_bf16=cuda and torch.cuda.is_bf16_supported(including_emulation=False),
        cpu_bf16=_onednn_says(mkldnn, "_is_mkldnn_bf16_supported"),
        cpu_fp16=_onednn_says(mkldnn, "_is_mkldnn_fp16_supported"),
    )


def _onednn_says(mkldnn: Any, question: str) -> bool:
    """oneDNN's answer; False where torch was built without it."""
    try:
        return bool(getattr(mkldnn, question)())
    except (AttributeError, RuntimeError):
        return False


def normalise(requested: str, key: str) -> str:
    """``bfloat16``/``float16``/``float32`` spelled as ``bf16``/``fp16``/``fp32``.

    Raises:
        ValueError: an unknown name, naming the parameter ``key``.
    """
    name = ALIASES.get(str(requested).lower(), str(requested).lower())
    if name not in PRECISIONS:
        raise ValueError(
            f"`{key}` must be one of {PRECISIONS} (or bfloat16/float16/float32); got {requested!r}"
        )
    return name


def resolve_precision(
    requested: str, key: str, device: str = "cpu", support: NativeSupport | None = None
) -> Precision:
    """The compute precision for ``requested`` (the value of parameter ``key``) on ``device``.

    ``auto``: bf16 where native, else fp16 on CUDA and fp32 on the CPU. An explicit precision
    is kept; when it would be emulated here, that is logged once per parameter as slow.
    """
    name = normalise(requested, key)
    support = probe() if support is None else support
    best = "bf16" if support.native("bf16", device) else ("fp16" if device == "cuda" else "fp32")
    name = best if name == "auto" else name
    native = support.native(name, device)
    if not native and (key, name, device) not in _WARNED:
        _WARNED.add((key, name, device))
        logger.warning(
            "`%s: %s` is emulated on this %s (no native %s): it runs, but far slower than "
            "`auto` (%s here)",
            key,
            requested,
            device,
            name,
            best,
        )
    return Precision(name=name, requested=str(requested), device=device, native=native)
