"""Run llama.cpp's own converter scripts (and ``llama-quantize`` when asked) as subprocesses.

The scripts come from the llama-cpp-python sdist the runtime was built from, so the GGUF they
write is one the runtime reads. They run in this interpreter unless ``export.converter.python``
names another; their own ``gguf-py`` takes precedence over the installed ``gguf``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .preflight import CONVERTER_OUTTYPES

logger = logging.getLogger(__name__)

# Quantizations are made from this lossless intermediate.
_QUANTIZE_FROM = "f16"
_TAIL_LINES = 20


class ConversionError(RuntimeError):
    """A converter or quantize subprocess failed; the message carries its last output lines."""


def gguf_file_name(stem: str, outtype: str) -> str:
    """``tutor.Q8_0.gguf``: llama.cpp's convention, the type upper-cased in the name."""
    return f"{stem}.{outtype.upper()}.gguf"


def _run(command: Sequence[str], what: str) -> float:
    """Run ``command``; its seconds, or ConversionError with the tail of its output."""
    logger.info("%s: %s", what, " ".join(command))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-_TAIL_LINES:])
        raise ConversionError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return seconds


def convert_checkpoint(
    script: str,
    checkpoint: Path,
    outfile: Path,
    outtype: str,
    *,
    python: str | None = None,
    quantize_binary: str | None = None,
) -> float:
    """Convert a Hugging Face checkpoint to ``outfile``; the seconds it took.

    Outtypes the converter writes itself go straight there; any other is converted to f16
    first and then quantized by ``quantize_binary`` (checked to exist before the merge).
    """
    interpreter = python or sys.executable
    outtype = outtype.lower()
    if outtype in CONVERTER_OUTTYPES:
        command = [interpreter, script, str(checkpoint), "--outtype", outtype]
        return _run([*command, "--outfile", str(outfile)], "convert_hf_to_gguf")
    if quantize_binary is None:
        raise ConversionError(f"outtype {outtype!r} needs llama-quantize, which is not set")
    intermediate = outfile.with_name(gguf_file_name("intermediate", _QUANTIZE_FROM))
    command = [interpreter, script, str(checkpoint), "--outtype", _QUANTIZE_FROM]
    seconds = _run([*command, "--outfile", str(intermediate)], "convert_hf_to_gguf")
    quantize = [quantize_binary, str(intermediate), str(outfile), outtype.upper()]
    seconds += _run(quantize, "llama-quantize")
    intermediate.unlink(missing_ok=True)
    return seconds


def convert_adapter(
    script: str,
    adapter_dir: Path,
    base_dir: Path,
    outfile: Path,
    outtype: str,
    *,
    python: str | None = None,
) -> float:
    """Convert a PEFT LoRA adapter to a GGUF LoRA (Ollama's ``ADAPTER``); the seconds it took."""
    command = [python or sys.executable, script, str(adapter_dir), "--base", str(base_dir)]
    command += ["--outtype", outtype.lower(), "--outfile", str(outfile)]
    return _run(command, "convert_lora_to_gguf")
