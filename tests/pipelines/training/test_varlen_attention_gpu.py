"""The varlen attention on a real GPU kernel against PyTorch's SDPA, conversation by conversation.

The CPU tests (test_varlen_attention.py) check the wrapper against reference kernels written to
the signature it assumes; here the real flash kernels run, forward and backward, on a packed
row with grouped K/V heads and the trailing pad run that ``pad_to_multiple_of`` appends.
"""

from __future__ import annotations

import types

import pytest
import torch
import torch.nn.functional as F
from transformers import AttentionInterface

from python_tutor.pipelines.training import varlen_attention

pytestmark = pytest.mark.gpu

LENGTHS = [37, 300, 5, 130]  # conversations end to end in one row
PADDING = 40  # pad tokens at position 0 after them (a row padded to a multiple)
HEADS, KV_HEADS, DIM = 8, 2, 64


def packed_inputs() -> tuple[torch.Tensor, ...]:
    """bf16 q/k/v of the packed row ([1, heads, tokens, dim]) and its positions."""
    generator = torch.Generator(device="cuda").manual_seed(0)
    total = sum(LENGTHS) + PADDING

    def tensor(heads):
        return torch.randn(
            1, heads, total, DIM, device="cuda", dtype=torch.bfloat16, generator=generator
        )

    positions = torch.cat(
        [torch.arange(n) for n in LENGTHS] + [torch.zeros(PADDING, dtype=torch.long)]
    )
    return tensor(HEADS), tensor(KV_HEADS), tensor(KV_HEADS), positions[None].cuda()


def sdpa_each_conversation(query, key, value) -> torch.Tensor:
    """Causal SDPA on every conversation alone, in float32: [real tokens, heads, dim]."""
    outputs, start = [], 0
    for length in LENGTHS:
        part = slice(start, start + length)
        out = F.scaled_dot_product_attention(
            query[:, :, part].float(),
            key[:, :, part].float(),
            value[:, :, part].float(),
            is_causal=True,
            enable_gqa=True,
            scale=DIM**-0.5,
        )
        outputs.append(out[0].transpose(0, 1))
        start += length
    return torch.cat(outputs)


@pytest.mark.parametrize("kernel", varlen_attention.KERNELS)
def test_the_packed_row_matches_sdpa_forward_and_backward(kernel):
    attention = AttentionInterface()[varlen_attention.register(kernel)]
    query, key, value, positions = packed_inputs()
    real = sum(LENGTHS)
    grad_output = torch.randn(real, HEADS, DIM, device="cuda", dtype=torch.float32)

    leaves = [t.clone().requires_grad_() for t in (query, key, value)]
    out, _ = attention(
        types.SimpleNamespace(is_causal=True),
        *leaves,
        None,
        scaling=DIM**-0.5,
        position_ids=positions,
    )
    assert out.shape == (1, real + PADDING, HEADS, DIM)
    (out[0, :real].float() * grad_output).sum().backward()

    expected_leaves = [t.clone().requires_grad_() for t in (query, key, value)]
    expected = sdpa_each_conversation(*expected_leaves)
    (expected * grad_output).sum().backward()

    # bf16 kernels against a float32 reference: bf16 rounding (8 bits of mantissa)
    torch.testing.assert_close(out[0, :real].float(), expected, atol=2e-2, rtol=2e-2)
    for name, got, want in zip("qkv", leaves, expected_leaves, strict=True):
        torch.testing.assert_close(
            got.grad[:, :, :real].float(),
            want.grad[:, :, :real].float(),  # the leaves are bf16, so are their gradients
            atol=5e-2,
            rtol=5e-2,
            msg=lambda text, name=name: f"d{name}: {text}",
        )
