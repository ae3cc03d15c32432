"""One token counter for training_metrics and the GPU benchmark: padding never counts."""

from __future__ import annotations

import torch

from python_tutor.pipelines.training.tokens import real_tokens


def test_a_padded_batch_counts_its_attention_mask():
    batch = {
        "input_ids": torch.ones(2, 5, dtype=torch.long),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]),
    }
    assert int(real_tokens(batch)) == 7


def test_a_padding_free_row_leaves_out_the_pad_appended_to_a_multiple():
    """TRL's collator: conversations of 3 and 4 tokens end to end, then padded to 8."""
    positions = torch.tensor([[0, 1, 2, 0, 1, 2, 3, 0]])
    batch = {"input_ids": torch.ones(1, 8, dtype=torch.long), "position_ids": positions}
    assert int(real_tokens(batch)) == 7
    unpadded = {"input_ids": torch.ones(1, 7), "position_ids": positions[:, :7]}
    assert int(real_tokens(unpadded)) == 7


def test_a_row_without_positions_or_mask_is_all_real():
    assert int(real_tokens({"input_ids": torch.ones(1, 9)})) == 9
