"""TRL's private choice of which positions its fused LM head projects (TRL 1.16).

``trl.trainer.utils._use_triton(device)`` decides whether ``add_fused_lm_head`` projects only
the positions with a label (True: Triton devices) or every position (False: the CPU);
training.answer_positions swaps it for the CPU run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HELPER = "_use_triton"


def _utils() -> Any:
    from trl.trainer import utils  # noqa: PLC0415 - heavy, only when training

    return utils


def use_triton_helper() -> Callable[[Any], bool] | None:
    """TRL's helper, or None where this TRL has none (an upgrade dropped it)."""
    return getattr(_utils(), HELPER, None)


@contextmanager
def replaced_use_triton(replacement: Callable[[Any], bool]) -> Iterator[None]:
    """TRL's helper is ``replacement`` inside the block, the original again after it."""
    utils = _utils()
    original = getattr(utils, HELPER)
    setattr(utils, HELPER, replacement)
    try:
        yield
    finally:
        setattr(utils, HELPER, original)
