"""TRL's private fused-LM-head helper, checked against the installed TRL: fails on an upgrade
that renames it or changes what it answers for the CPU (training.answer_positions relies on it)."""

from __future__ import annotations

import torch

from python_tutor.private_api.trl import replaced_use_triton, use_triton_helper


def test_the_helper_exists_and_says_no_triton_on_the_cpu():
    helper = use_triton_helper()
    assert helper is not None, "trl.trainer.utils._use_triton is gone: update private_api.trl"
    assert helper(torch.device("cpu")) is False


def test_the_replacement_holds_inside_the_block_only():
    original = use_triton_helper()
    with replaced_use_triton(lambda device: True):
        assert use_triton_helper()(torch.device("cpu")) is True
    assert use_triton_helper() is original
