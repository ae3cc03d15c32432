"""Real tokens of a training micro-batch: the one count behind every tokens/s of the project.

``training_metrics`` (``callbacks.ThroughputRecorder``) and ``benchmarks/train_throughput.py``
both count with ``real_tokens``, so their speeds compare. Padding never counts: a padded batch
counts its attention mask; a padding-free row (conversations end to end, TRL's collator) counts
up to its last real token, leaving out the pad tokens that ``pad_to_multiple_of`` appends,
which TRL puts at position 0 after the last conversation (a conversation is never one token
long, so its last token is never at position 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def real_tokens(inputs: Mapping[str, Any]) -> Any:
    """Non-padding tokens of ``inputs`` as a 0-d tensor on the batch's device (no host sync)."""
    import torch  # noqa: PLC0415

    mask = inputs.get("attention_mask")
    if mask is not None and mask.dim() == 2:
        return mask.sum()
    positions = inputs.get("position_ids")
    ids = inputs["input_ids"]
    if positions is None:  # one row without padding
        return torch.tensor(ids.numel(), device=ids.device)
    flat = positions.reshape(-1)
    index = torch.arange(1, flat.numel() + 1, device=flat.device)
    return (index * (flat != 0)).max()
