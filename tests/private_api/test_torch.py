"""torch's private flash-attention op, checked against the installed torch: fails on an upgrade
that changes the arguments or output training.varlen_attention.causal_flash relies on."""

from __future__ import annotations

from python_tutor.private_api.torch import FLASH_POSITIONAL, flash_attention_forward


def test_the_op_takes_the_arguments_causal_flash_passes():
    schema = flash_attention_forward().default._schema
    positional = tuple(a.name for a in schema.arguments if not a.kwarg_only)
    keyword = {a.name for a in schema.arguments if a.kwarg_only}
    assert positional == FLASH_POSITIONAL
    assert "scale" in keyword
    assert schema.returns[0].name == "output"
