"""Scoring only the answer positions on the CPU: fewer rows through the LM head, same numbers."""

from __future__ import annotations

import pytest

from python_tutor.pipelines.training.answer_positions import score_answer_positions_only

from .conftest import conversation
from .test_masking import build


@pytest.fixture
def lm_head_rows(monkeypatch) -> list[int]:
    """How many hidden-state rows each call of TRL's fused LM head projects."""
    from trl.trainer import utils as trl_utils

    rows: list[int] = []
    original = trl_utils._ChunkedLogProbFunction

    class Spy(original):
        @classmethod
        def apply(cls, hidden, *args, **kwargs):
            rows.append(hidden.shape[0])
            return original.apply(hidden, *args, **kwargs)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Spy)
    return rows


def loss_and_gradients(trainer, batch):
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, dict(batch))
    loss.backward()
    grads = {
        name: p.grad.clone() for name, p in trainer.model.named_parameters() if p.grad is not None
    }
    return loss.detach(), grads


def test_only_answer_positions_are_projected_and_the_numbers_stay(
    tiny_llama_dir, training_params, lm_head_rows
):
    import torch

    conversations = [conversation(i)["messages"] for i in range(4)]
    conversations[1][2]["content"] = "Crea la variable x y le asigna un número entero."
    trainer = build(tiny_llama_dir, training_params, "model", conversations).trainer
    batch = next(iter(trainer.get_train_dataloader()))
    next_token_labels = batch["labels"][:, 1:]
    answer_positions = int((next_token_labels != -100).sum())
    assert 0 < answer_positions < next_token_labels.numel()

    every_loss, every_grads = loss_and_gradients(trainer, batch)
    with score_answer_positions_only("cpu"):
        answer_loss, answer_grads = loss_and_gradients(trainer, batch)
    again_loss, _ = loss_and_gradients(trainer, batch)
    with score_answer_positions_only("cuda"):  # TRL's own choice there: left alone
        loss_and_gradients(trainer, batch)

    every = next_token_labels.numel()
    assert lm_head_rows == [every, answer_positions, every, every]
    torch.testing.assert_close(answer_loss, every_loss)
    torch.testing.assert_close(again_loss, every_loss)
    assert answer_grads.keys() == every_grads.keys() and every_grads
    for name, grad in every_grads.items():
        torch.testing.assert_close(answer_grads[name], grad, msg=name)
