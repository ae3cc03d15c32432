"""Score only the answer positions through the LM head on the CPU as well.

TRL 1.16 computes the SFT loss with a fused LM head (``trl.trainer.utils.add_fused_lm_head``):
it projects the hidden states through the vocabulary in tiles, without building the logits.
On Triton devices (CUDA, XPU) it projects only the positions whose label is not -100;
elsewhere it projects every position, so that devices that compile one graph per shape
(Neuron) keep one tile shape per batch. Eager CPU training compiles nothing, so it pays that
price for nothing: in the CPU default about 60% of the positions are the prompt (system
message and question, label -100), and each one costs a projection onto SmolLM2's 49,152-token
vocabulary forward and backward plus a dozen element-wise passes over those logits. The
skipped positions contribute exactly zero to the loss and its gradient, so the numbers are the
same (docs/training.md gives the time saved).

TRL makes the choice with a private helper, ``trl.trainer.utils._use_triton(device)``, reached
only through ``python_tutor.private_api.trl``. Where a TRL release has no such helper, nothing is
changed (the run is only slower) and a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from python_tutor.private_api.trl import HELPER, replaced_use_triton, use_triton_helper

logger = logging.getLogger(__name__)


@contextmanager
def score_answer_positions_only(device: str) -> Iterator[None]:
    """Inside the block, TRL's fused LM head skips label -100 positions on the CPU too.

    ``device`` is where the run trains (cpu | cuda); on CUDA TRL does this already and
    nothing is touched.
    """
    if device != "cpu":
        yield
        return
    decide = use_triton_helper()
    if decide is None:
        import trl  # noqa: PLC0415

        logger.warning(
            "trl.trainer.utils.%s is gone (TRL %s): the CPU run projects prompt positions "
            "through the LM head too, which is slower but gives the same losses",
            HELPER,
            trl.__version__,
        )
        yield
        return

    def compact(device: Any) -> bool:
        return device.type == "cpu" or decide(device)

    with replaced_use_triton(compact):
        yield
