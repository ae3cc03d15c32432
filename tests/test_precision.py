"""The one precision rule, with the hardware probe faked both ways."""

from __future__ import annotations

import logging

import pytest
import torch

from python_tutor import precision
from python_tutor.precision import NativeSupport, normalise, probe, resolve_precision

AVX2 = NativeSupport(cuda=False, cuda_bf16=False, cpu_bf16=False, cpu_fp16=False)
AVX512_BF16 = NativeSupport(cuda=False, cuda_bf16=False, cpu_bf16=True, cpu_fp16=False)
AMPERE = NativeSupport(cuda=True, cuda_bf16=True, cpu_bf16=False, cpu_fp16=False)
T4 = NativeSupport(cuda=True, cuda_bf16=False, cpu_bf16=False, cpu_fp16=False)


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(precision, "_WARNED", set())


@pytest.mark.parametrize(
    ("support", "device", "expected"),
    [
        (AVX2, "cpu", "fp32"),
        (AVX512_BF16, "cpu", "bf16"),
        (AMPERE, "cuda", "bf16"),
        (T4, "cuda", "fp16"),
        (AMPERE, "cpu", "fp32"),  # a bf16 GPU says nothing about its host CPU
    ],
)
def test_auto_is_bf16_only_where_native(support, device, expected, caplog):
    with caplog.at_level(logging.WARNING):
        resolved = resolve_precision("auto", "stage.dtype", device, support)
    assert (resolved.name, resolved.native, resolved.device) == (expected, True, device)
    assert resolved.requested == "auto"
    assert not caplog.records


@pytest.mark.parametrize(
    ("requested", "support", "device", "expected", "auto_here"),
    [
        ("bfloat16", AVX2, "cpu", "bf16", "fp32"),
        ("bf16", T4, "cuda", "bf16", "fp16"),
        ("float16", AVX512_BF16, "cpu", "fp16", "bf16"),
    ],
)
def test_explicit_emulated_setting_is_kept_and_logged_once(  # noqa: PLR0913, PLR0917
    requested, support, device, expected, auto_here, caplog
):
    key = "evaluation.runtime.torch_dtype"
    with caplog.at_level(logging.WARNING, logger="python_tutor.precision"):
        first = resolve_precision(requested, key, device, support)
        again = resolve_precision(requested, key, device, support)
    assert first == again
    assert (first.name, first.native) == (expected, False)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert key in message and "emulated" in message
    assert f"`auto` ({auto_here} here)" in message


def test_each_parameter_gets_its_own_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="python_tutor.precision"):
        resolve_precision("bf16", "export.merge.compute_dtype", "cpu", AVX2)
        resolve_precision("bf16", "export.fidelity.torch_dtype", "cpu", AVX2)
    assert len(caplog.records) == 2


@pytest.mark.parametrize(("spelled", "name"), [("bfloat16", "bf16"), ("FP32", "fp32")])
def test_torch_and_short_names_are_one_setting(spelled, name):
    assert normalise(spelled, "k") == name
    assert (
        getattr(torch, resolve_precision(spelled, "k", "cpu", AVX512_BF16).torch_name)
        == {
            "bf16": torch.bfloat16,
            "fp32": torch.float32,
        }[name]
    )


def test_unknown_name_names_the_parameter():
    with pytest.raises(ValueError, match=r"`export\.merge\.compute_dtype`.*'int8'"):
        resolve_precision("int8", "export.merge.compute_dtype", "cpu", AVX2)


class TestProbe:
    def test_cpu_answer_is_onednns(self, monkeypatch):
        for answer in (True, False):
            monkeypatch.setattr(
                torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda answer=answer: answer
            )
            assert probe().cpu_bf16 is answer

    def test_a_torch_without_onednn_counts_as_not_native(self, monkeypatch):
        def missing():
            raise RuntimeError("mkldnn not built")

        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", missing)
        assert probe().cpu_bf16 is False

    @pytest.mark.parametrize("native", [True, False])
    def test_cuda_bf16_excludes_emulation(self, monkeypatch, native):
        asked = []

        def is_bf16_supported(including_emulation=True):
            asked.append(including_emulation)
            return native or including_emulation  # a T4 says yes only when emulation counts

        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
        support = probe()
        assert support.cuda and support.cuda_bf16 is native
        assert asked == [False]
        assert resolve_precision("auto", "k", "cuda", support).name == (
            "bf16" if native else "fp16"
        )
