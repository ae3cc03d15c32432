"""torch's private flash-attention op (torch 2.13), for training.varlen_attention's aten_flash.

``aten::_flash_attention_forward`` is the op ``torch.nn.attention.varlen.varlen_attn`` wraps.
Called directly, Inductor's C++ wrapper can launch it and K/V heads are grouped by the kernel.
``training.varlen_attention.causal_flash`` passes ``FLASH_POSITIONAL`` in this order, then
``scale`` by keyword, and reads the first output (the attention output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FLASH_POSITIONAL = (
    "query",
    "key",
    "value",
    "cum_seq_q",
    "cum_seq_k",
    "max_q",
    "max_k",
    "dropout_p",
    "is_causal",
    "return_debug_mask",
)


def flash_attention_forward() -> Callable[..., Any]:
    """The aten op (its CUDA kernel runs on GPUs only; the op and its schema exist everywhere)."""
    import torch  # noqa: PLC0415 - torch loads only where this kernel is chosen

    return torch.ops.aten._flash_attention_forward  # noqa: SLF001
