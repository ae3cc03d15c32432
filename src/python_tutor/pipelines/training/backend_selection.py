"""Which backend, precision, quantisation and optimizer a run can really use on this machine.

The recipe in the parameters is written for a CUDA GPU (Unsloth, 4-bit base, ``adamw_8bit``,
bf16). Where a setting cannot apply here, the plan falls back to the nearest correct one and
says so once in the log and in the adapter's provenance; it never changes a setting silently.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from python_tutor.parameters.training import BACKENDS
from python_tutor.precision import NativeSupport, normalise, probe, resolve_precision

logger = logging.getLogger(__name__)

# Optimizers that need bitsandbytes on CUDA, and the exact 32-bit optimizer each stands for.
BNB_OPTIMIZERS = {
    "adamw_8bit": "adamw_torch",
    "adamw_bnb_8bit": "adamw_torch",
    "paged_adamw_8bit": "adamw_torch",
    "paged_adamw_32bit": "adamw_torch",
    "lion_8bit": "lion_32bit",
    "paged_lion_8bit": "lion_32bit",
}


@dataclass(frozen=True)
class Hardware:
    """What this machine offers a training run."""

    native: NativeSupport
    unsloth: bool
    bitsandbytes: bool

    @property
    def cuda(self) -> bool:
        """Whether a CUDA GPU is there to train on."""
        return self.native.cuda

    @property
    def device(self) -> str:
        """Where the model trains."""
        return "cuda" if self.cuda else "cpu"


@dataclass(frozen=True)
class TrainingPlan:
    """The settings a run actually uses, and every fallback that led to them."""

    backend: str  # unsloth | hf
    device: str  # cuda | cpu
    precision: str  # bf16 | fp16 | fp32
    load_in_4bit: bool
    optim: str
    fallbacks: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Plain values for provenance and metrics."""
        return {
            "backend": self.backend,
            "device": self.device,
            "precision": self.precision,
            "load_in_4bit": self.load_in_4bit,
            "optim": self.optim,
            "fallbacks": list(self.fallbacks),
        }


def detect_hardware() -> Hardware:
    """Probe CUDA, native bf16 (python_tutor.precision) and the optional GPU libraries.

    The libraries are found without importing them.
    """
    return Hardware(
        native=probe(),
        unsloth=importlib.util.find_spec("unsloth") is not None,
        bitsandbytes=importlib.util.find_spec("bitsandbytes") is not None,
    )


def select_backend(requested: str, hardware: Hardware) -> str:
    """``auto`` means Unsloth when CUDA and Unsloth are both present, else transformers+PEFT.

    Raises:
        ValueError: an unknown name, or ``unsloth`` asked for where it cannot run.
    """
    if requested not in BACKENDS:
        raise ValueError(
            f"parameters_training.yml: `training.backend` must be one of {BACKENDS}; "
            f"got {requested!r}"
        )
    if requested == "auto":
        return "unsloth" if hardware.cuda and hardware.unsloth else "hf"
    if requested == "unsloth" and not (hardware.cuda and hardware.unsloth):
        missing = "a CUDA GPU" if not hardware.cuda else "the unsloth package"
        raise ValueError(
            f"`training.backend: unsloth` needs {missing}; use `training.backend: hf` "
            "(or `auto`) to train with transformers+PEFT here"
        )
    return requested


def select_precision(requested: str, hardware: Hardware) -> tuple[str, str | None]:
    """Mixed precision to train in (the project's one rule), and the fallback note.

    ``auto`` and explicit settings follow python_tutor.precision (an emulated bf16 is kept and
    logged as slow); the one exception is fp16 without CUDA, which the trainer's fp16 mixed
    precision cannot do at all: that falls back to what ``auto`` picks.
    """
    key = "training.model.precision"
    device = hardware.device
    if normalise(requested, key) == "fp16" and not hardware.cuda:
        best = resolve_precision("auto", key, device, hardware.native).name
        return best, f"{key}: fp16 mixed precision needs CUDA"
    return resolve_precision(requested, key, device, hardware.native).name, None


def plan_training(
    backend: str,
    model_params: Mapping[str, Any],
    sft_params: Mapping[str, Any],
    hardware: Hardware,
) -> TrainingPlan:
    """Resolve the recipe against ``hardware``; each fallback is logged once, here."""
    chosen = select_backend(backend, hardware)
    fallbacks: list[str] = []

    precision, note = select_precision(model_params.get("precision", "auto"), hardware)
    if note:
        fallbacks.append(f"{note}; training in {precision}")

    load_in_4bit = bool(model_params.get("load_in_4bit", False))
    if load_in_4bit and not (hardware.cuda and hardware.bitsandbytes):
        load_in_4bit = False
        reason = "CUDA" if not hardware.cuda else "bitsandbytes"
        fallbacks.append(
            f"training.model.load_in_4bit: 4-bit loading needs {reason}; "
            f"loading the base model unquantised ({precision} training)"
        )

    optim = sft_params.get("optim", "adamw_torch")
    if optim in BNB_OPTIMIZERS and not (hardware.cuda and hardware.bitsandbytes):
        replacement = BNB_OPTIMIZERS[optim]
        reason = "CUDA" if not hardware.cuda else "bitsandbytes"
        fallbacks.append(f"training.sft.optim: {optim} needs {reason}; using {replacement}")
        optim = replacement

    for note in fallbacks:
        logger.warning("Fallback: %s", note)
    return TrainingPlan(
        backend=chosen,
        device=hardware.device,
        precision=precision,
        load_in_4bit=load_in_4bit,
        optim=optim,
        fallbacks=tuple(fallbacks),
    )
