"""torch_varlen attention: the plumbing around PyTorch's varlen flash kernel.

The kernel itself is CUDA-only, so these tests give the same plumbing a CPU reference kernel
with each torch version's signature, and check a tiny LLaMA's packed row against each
conversation run alone under SDPA.
"""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from python_tutor.pipelines.training import varlen_attention


def reference_new(q, k, v, cu_q, cu_k, max_q, max_k, *, scale=None, window_size=(-1, -1),
                  enable_gqa=False):  # fmt: skip
    """torch>=2.12 spelling (window_size, enable_gqa), computed per segment with SDPA."""
    assert max_q == max_k == int((cu_q[1:] - cu_q[:-1]).max())
    outs = []
    for start, end in zip(cu_q[:-1].tolist(), cu_q[1:].tolist(), strict=True):

        def segment(x, start=start, end=end):
            return x[start:end].transpose(0, 1)  # [H, T, D]

        out = F.scaled_dot_product_attention(
            segment(q), segment(k), segment(v), scale=scale,
            is_causal=tuple(window_size) == (-1, 0), enable_gqa=enable_gqa,
        )  # fmt: skip
        outs.append(out.transpose(0, 1))
    return torch.cat(outs)


def reference_old(q, k, v, cu_q, cu_k, max_q, max_k, *, is_causal=False, scale=None):
    """torch 2.10 spelling (is_causal, no GQA: K/V must come repeated)."""
    assert k.shape[1] == q.shape[1], "no enable_gqa: K/V must have one head per query head"
    window = (-1, 0) if is_causal else (-1, -1)
    return reference_new(q, k, v, cu_q, cu_k, max_q, max_k, scale=scale, window_size=window)


def reference_aten(q, k, v, cu_q, cu_k, max_q, max_k, dropout_p, is_causal, return_debug_mask,
                   *, scale=None):  # fmt: skip
    """aten's ``_flash_attention_forward``: native GQA, a tuple whose first item is the output."""
    assert dropout_p == 0.0 and not return_debug_mask
    window = (-1, 0) if is_causal else (-1, -1)
    gqa = k.shape[1] != q.shape[1]
    out = reference_new(q, k, v, cu_q, cu_k, max_q, max_k, scale=scale, window_size=window,
                        enable_gqa=gqa)  # fmt: skip
    return out, None, None, None, None


KERNELS = {
    "varlen_attn-torch-2.12+": (varlen_attention.causal_varlen, reference_new),
    "varlen_attn-torch-2.10": (varlen_attention.causal_varlen, reference_old),
    "aten_flash": (varlen_attention.causal_flash, reference_aten),
}


@pytest.fixture(params=KERNELS.values(), ids=KERNELS.keys())
def varlen_model(request, tiny_llama_dir, monkeypatch):
    """The tiny LLaMA twice: under torch_varlen (CPU reference kernel) and under SDPA."""
    from transformers import AttentionInterface, AutoModelForCausalLM

    wrap, reference = request.param
    kernel = wrap(reference)
    monkeypatch.setitem(
        AttentionInterface._global_mapping,
        varlen_attention.NAME,
        functools.partial(varlen_attention.varlen_attention_forward, kernel=kernel),
    )
    varlen = AutoModelForCausalLM.from_pretrained(
        tiny_llama_dir, attn_implementation=varlen_attention.NAME
    ).eval()
    sdpa = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation="sdpa").eval()
    return varlen, sdpa


def packed_conversations(sdpa, lengths):
    """Conversations of these lengths as one padding-free row and its positions, and the logits
    of each conversation run alone under SDPA (what the packed row must give)."""
    ids = [torch.randint(10, 500, (n,)) for n in lengths]
    positions = torch.cat([torch.arange(n) for n in lengths])[None]
    with torch.no_grad():
        alone = torch.cat([sdpa(input_ids=x[None]).logits[0] for x in ids])
    return torch.cat(ids)[None], positions, alone


def test_a_packed_row_equals_each_conversation_alone(varlen_model):
    varlen, sdpa = varlen_model
    row, positions, alone = packed_conversations(sdpa, [5, 9, 3])
    with torch.no_grad():
        packed = varlen(input_ids=row, position_ids=positions).logits[0]
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=1e-4)


def test_a_right_padded_batch_matches_sdpa_on_the_real_tokens(varlen_model):
    varlen, sdpa = varlen_model
    ids = torch.randint(10, 500, (2, 7))
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    with torch.no_grad():
        got = varlen(input_ids=ids, attention_mask=mask).logits
        want = sdpa(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(got[0], want[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got[1, :4], want[1, :4], atol=1e-5, rtol=1e-4)


def test_gradients_flow_through_the_packed_row(varlen_model):
    varlen, _ = varlen_model
    row = torch.randint(10, 500, (1, 8))
    positions = torch.tensor([[0, 1, 2, 0, 1, 2, 3, 4]])
    varlen(input_ids=row, position_ids=positions, labels=row).loss.backward()
    grad = varlen.model.layers[0].self_attn.q_proj.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_cu_seqlens_come_from_restarting_positions():
    cu, longest = varlen_attention.cu_seqlens_from_position_ids(
        torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3, 0]])
    )
    assert cu.tolist() == [0, 3, 5, 9, 10]
    assert cu.dtype == torch.int32
    assert longest == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dropout": 0.1}, "dropout"),
        ({"position_ids": None}, "position_ids"),
        ({"position_ids": torch.tensor([[1, 2, 3]])}, "start every sequence at 0"),
    ],
)
def test_what_the_kernel_cannot_honour_is_refused(kwargs, message):
    q = torch.zeros(1, 2, 3, 4)
    call = {"position_ids": torch.tensor([[0, 1, 2]]), **kwargs}
    with pytest.raises(ValueError, match=message):
        varlen_attention.varlen_attention_forward(
            object(), q, q, q, None, kernel=varlen_attention.causal_varlen(reference_new), **call
        )


@pytest.mark.parametrize("kernel", varlen_attention.KERNELS)
def test_register_names_the_implementation_for_transformers(kernel):
    from transformers import AttentionInterface

    assert varlen_attention.register(kernel) == "torch_varlen"
    assert "torch_varlen" in AttentionInterface._global_mapping


def test_an_unknown_kernel_is_refused_by_name():
    with pytest.raises(ValueError, match="varlen_kernel: 'triton'"):
        varlen_attention.register("triton")


def test_a_trailing_run_of_pad_positions_is_one_sequence():
    # pad_to_multiple_of pads with position 0: one sequence, not one per pad token
    cu, longest = varlen_attention.sequence_boundaries(torch.tensor([[0, 1, 2, 0, 1, 0, 0, 0]]))
    assert cu.tolist() == [0, 3, 5, 8]
    assert longest == 3
    assert varlen_attention.sequence_boundaries(torch.tensor([0, 1, 2]))[0].tolist() == [0, 3]


def test_the_collator_adds_the_boundaries_of_a_padding_free_batch():
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collate = varlen_attention.SequenceBoundaries(
        DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True, pad_to_multiple_of=8)
    )
    batch = collate([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}, {"input_ids": [4, 4, 4, 4]}])
    assert batch["input_ids"].shape == (1, 16)
    assert batch["cu_seq_lens_q"].tolist() == [0, 3, 5, 9, 16]
    assert batch["cu_seq_lens_q"].dtype == torch.int32
    assert batch["cu_seq_lens_k"] is batch["cu_seq_lens_q"]
    assert batch["max_length_q"] == batch["max_length_k"] == 7


def test_the_collator_treats_each_row_of_a_padded_batch_as_one_sequence():
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collate = varlen_attention.SequenceBoundaries(DataCollatorForLanguageModeling(pad_token_id=0))
    batch = collate([{"input_ids": [5, 6, 7]}, {"input_ids": [8, 9]}])
    assert batch["cu_seq_lens_q"].tolist() == [0, 3, 6]
    assert batch["max_length_q"] == 3


def test_boundaries_from_the_collator_reach_every_layer(varlen_model, monkeypatch):
    """transformers passes the collator's keys down to the attention: no host work there."""
    varlen, sdpa = varlen_model
    row, positions, alone = packed_conversations(sdpa, [5, 9, 3])
    cu, longest = varlen_attention.sequence_boundaries(positions)
    monkeypatch.setattr(
        varlen_attention,
        "cu_seqlens_from_position_ids",
        lambda *a: pytest.fail("worked out from the positions"),
    )
    with torch.no_grad():
        packed = varlen(
            input_ids=row,
            position_ids=positions,
            cu_seq_lens_q=cu,
            cu_seq_lens_k=cu,
            max_length_q=longest,
            max_length_k=longest,
        ).logits[0]
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=1e-4)


def test_the_sequences_are_worked_out_once_per_positions_tensor(monkeypatch):
    positions = torch.tensor([[0, 1, 0, 1, 2]])
    first = varlen_attention.cu_seqlens_from_position_ids(positions)
    monkeypatch.setattr(torch, "nonzero", lambda *a, **k: pytest.fail("worked out again"))
    assert varlen_attention.cu_seqlens_from_position_ids(positions) is first
