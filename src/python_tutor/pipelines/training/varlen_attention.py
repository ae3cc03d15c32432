"""Padding-free attention on PyTorch's own variable-length flash kernel.

A padding-free micro-batch puts its conversations end to end in one row, and attention must stay
inside each conversation. transformers does that with the flash-attn package (no wheel for the
GPU stack's torch/CUDA, and building it needs a CUDA toolchain) or, under SDPA, with a dense
block-diagonal mask over the whole row: attention work quadratic in the row, not in each
conversation. PyTorch ships the flash kernel with ``cu_seqlens`` as its aten op
``_flash_attention_forward`` and (2.10+) as the public ``torch.nn.attention.varlen.varlen_attn``
around it; this module hands either (``training.model.varlen_kernel``) to transformers as
``attn_implementation: torch_varlen`` through transformers' public ``AttentionInterface``.

Sequences are found from ``position_ids``, which restart at 0 for every conversation in a
padding-free row and for every row of a padded batch (right padding: the causal mask already
keeps real tokens from seeing the pad after them). ``SequenceBoundaries`` works them out in the
data collator, on the host where the positions already are, and hands them to every layer under
transformers' flash-attention keyword names (``cu_seq_lens_q``, ``max_length_q``): the GPU is
never waited on, and a compiled layer sees no data-dependent shapes. Without it, the attention
works them out once per forward pass.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from python_tutor.parameters.training import VARLEN_KERNELS as KERNELS
from python_tutor.private_api.torch import flash_attention_forward

NAME = "torch_varlen"
# training.model.varlen_kernel: how the flash kernel is called; unset, the public wrapper
DEFAULT_KERNEL = KERNELS[0]


def register(kernel: str = DEFAULT_KERNEL) -> str:
    """Make ``attn_implementation="torch_varlen"`` known to transformers; returns the name.

    ``kernel`` is one of ``KERNELS``: the public ``varlen_attn`` (a custom op around the flash
    kernel) or the flash kernel's own aten op (``causal_flash``).

    Raises:
        RuntimeError: this torch has no ``torch.nn.attention.varlen`` (it came in 2.10).
        ValueError: a kernel not in ``KERNELS``.
    """
    from transformers import AttentionInterface  # noqa: PLC0415

    if kernel not in KERNELS:
        raise ValueError(
            f"training.model.varlen_kernel: {kernel!r} is not one of {', '.join(KERNELS)}"
        )
    if kernel == "aten_flash":
        call = causal_flash(flash_attention_forward())
    else:
        call = _varlen_attn_kernel()
    AttentionInterface.register(
        NAME, lambda *args, **kwargs: varlen_attention_forward(*args, kernel=call, **kwargs)
    )
    return NAME


def causal_flash(flash_forward: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap aten's ``_flash_attention_forward`` as ``kernel(q, k, v, *, cu_seqlens, ...)``
    (its arguments: python_tutor.private_api.torch).

    The op that ``varlen_attn``'s custom op calls, called directly: Inductor's C++ wrapper can
    call an aten op (not the custom op, whose ``window_size`` is a list), autograd has its
    backward built in, and the kernel groups query heads over K/V itself, so K/V are never
    repeated.
    """

    def kernel(query, key, value, *, cu_seqlens, max_len, scale):
        output, *_ = flash_forward(
            query, key, value, cu_seqlens, cu_seqlens, max_len, max_len, 0.0, True, False,
            scale=scale,
        )  # fmt: skip
        return output

    return kernel


def _varlen_attn_kernel() -> Callable[..., Any]:
    """``varlen_attn`` with causal masking and GQA spelled for the installed torch version."""
    try:
        from torch.nn.attention.varlen import varlen_attn  # noqa: PLC0415
    except ImportError as error:
        import torch  # noqa: PLC0415

        raise RuntimeError(
            f"training.model.attn_implementation: {NAME} needs torch>=2.10 "
            f"(torch.nn.attention.varlen); this is torch {torch.__version__}"
        ) from error
    return causal_varlen(varlen_attn)


def causal_varlen(varlen_attn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``varlen_attn`` as ``kernel(q, k, v, *, cu_seqlens, max_len, scale)``.

    Causality is ``window_size=(-1, 0)`` from torch 2.11 and ``is_causal=True`` in 2.10;
    grouped-query attention is native where ``enable_gqa`` exists (2.12+) and K/V are repeated
    per query head otherwise.
    """
    accepted = inspect.signature(varlen_attn).parameters
    causal = {"window_size": (-1, 0)} if "window_size" in accepted else {"is_causal": True}
    native_gqa = "enable_gqa" in accepted

    def kernel(query, key, value, *, cu_seqlens, max_len, scale):
        groups = query.shape[1] // key.shape[1]
        extra = dict(causal)
        if groups > 1 and native_gqa:
            extra["enable_gqa"] = True
        elif groups > 1:
            key = key.repeat_interleave(groups, dim=1)
            value = value.repeat_interleave(groups, dim=1)
        return varlen_attn(
            query, key, value, cu_seqlens, cu_seqlens, max_len, max_len, scale=scale, **extra
        )

    return kernel


def sequence_boundaries(position_ids: Any) -> tuple[Any, int]:
    """Cumulative sequence starts (int32, with the total at the end) and the longest sequence.

    A row padded to a multiple (``pad_to_multiple_of``) ends in pad tokens at position 0; that
    trailing run is one sequence, not one per pad token: only its first token can be real, and a
    causal first token sees only itself either way.

    Raises:
        ValueError: positions that do not start at 0.
    """
    import torch  # noqa: PLC0415

    flat = position_ids.reshape(-1).cpu()
    zero = flat == 0
    if flat.numel() == 0 or not bool(zero[0]):
        raise ValueError("torch_varlen attention: position_ids must start every sequence at 0")
    run = int(torch.flip(zero, (0,)).int().cumprod(0).sum())  # trailing zeros
    starts = torch.nonzero(zero[: flat.numel() - run + 1]).reshape(-1)
    ends = torch.cat([starts, starts.new_tensor([flat.numel()])])
    return ends.to(torch.int32), int((ends[1:] - ends[:-1]).max())


def cu_seqlens_from_position_ids(position_ids: Any) -> tuple[Any, int]:
    """``sequence_boundaries`` on the positions' device, once per forward pass.

    Every layer receives the same ``position_ids`` tensor, so the answer is kept with it rather
    than synchronising the GPU once per layer.
    """
    known = _SEQUENCES.get(id(position_ids))
    if known is not None:
        return known
    cu_seqlens, longest = sequence_boundaries(position_ids)
    result = (cu_seqlens.to(device=position_ids.device, non_blocking=True), longest)
    _SEQUENCES[id(position_ids)] = result
    weakref.finalize(position_ids, _SEQUENCES.pop, id(position_ids), None)
    return result


# id(position_ids) -> its sequences, dropped when the forward pass lets go of the tensor
_SEQUENCES: dict[int, tuple[Any, int]] = {}


def varlen_attention_forward(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    *,
    kernel: Callable[..., Any],
    scaling: float | None = None,
    dropout: float = 0.0,
    position_ids: Any = None,
    cu_seq_lens_q: Any = None,
    max_length_q: int | None = None,
    **_: Any,
) -> tuple[Any, None]:
    """transformers' attention-function contract: ``[B, H, T, D]`` in, ``[B, T, H, D]`` out.

    Raises:
        ValueError: attention dropout, a non-causal module, or neither sequence boundaries nor
            ``position_ids``, which this kernel cannot honour (rather than silently attending
            across conversations).
    """
    if dropout:
        raise ValueError("torch_varlen attention does not support attention dropout")
    if not getattr(module, "is_causal", True):
        raise ValueError("torch_varlen attention is causal only")
    batch, heads, length, dim = query.shape
    if cu_seq_lens_q is not None:  # from SequenceBoundaries
        cu_seqlens, max_len = cu_seq_lens_q, max_length_q
    elif position_ids is None:
        raise ValueError("torch_varlen attention needs position_ids to find the sequences")
    else:
        if position_ids.shape[0] != batch:  # a padded batch: one shared row of positions
            position_ids = position_ids.expand(batch, length)
        cu_seqlens, max_len = cu_seqlens_from_position_ids(position_ids)

    def flat(x):  # [B, H, T, D] -> [B*T, H, D]
        return x.transpose(1, 2).reshape(batch * length, x.shape[1], dim)

    out = kernel(
        flat(query), flat(key), flat(value), cu_seqlens=cu_seqlens, max_len=max_len, scale=scaling
    )
    return out.reshape(batch, length, heads, dim), None


@dataclass
class SequenceBoundaries:
    """A data collator that adds each batch's sequence boundaries to what ``collator`` makes.

    Keys are transformers' flash-attention names, which the model passes down to every
    attention call: ``cu_seq_lens_q``/``_k`` and ``max_length_q``/``_k``. A batch without
    ``position_ids`` is a right-padded one: each row is one sequence.
    """

    collator: Callable[[list[Any]], dict[str, Any]]

    def __call__(self, examples: list[Any]) -> dict[str, Any]:
        batch = self.collator(examples)
        positions = batch.get("position_ids")
        if positions is None:
            import torch  # noqa: PLC0415

            rows, length = batch["input_ids"].shape
            positions = torch.arange(length).repeat(rows)
        cu_seqlens, longest = sequence_boundaries(positions)
        batch.update(
            cu_seq_lens_q=cu_seqlens,
            cu_seq_lens_k=cu_seqlens,
            max_length_q=longest,
            max_length_k=longest,
        )
        return batch
