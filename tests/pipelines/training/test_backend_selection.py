"""Backend, precision and fallback choices for every kind of machine."""

from __future__ import annotations

import importlib.util
import logging

import pytest
import torch

from python_tutor.pipelines.training.backend_selection import (
    Hardware,
    detect_hardware,
    plan_training,
    select_backend,
    select_precision,
)
from python_tutor.precision import NativeSupport

AVX2 = NativeSupport(cuda=False, cuda_bf16=False, cpu_bf16=False, cpu_fp16=False)
AMX = NativeSupport(cuda=False, cuda_bf16=False, cpu_bf16=True, cpu_fp16=True)
CPU = Hardware(native=AVX2, unsloth=False, bitsandbytes=False)
CPU_BF16 = Hardware(native=AMX, unsloth=False, bitsandbytes=False)
H200 = Hardware(
    native=NativeSupport(cuda=True, cuda_bf16=True, cpu_bf16=True, cpu_fp16=True),
    unsloth=True,
    bitsandbytes=True,
)
T4_NO_UNSLOTH = Hardware(
    native=NativeSupport(cuda=True, cuda_bf16=False, cpu_bf16=False, cpu_fp16=False),
    unsloth=False,
    bitsandbytes=True,
)
GPU_RECIPE = {"load_in_4bit": True, "precision": "auto"}
GPU_SFT = {"optim": "adamw_8bit"}


class TestDetectHardware:
    def test_reads_cuda_and_unsloth_without_importing_them(self, monkeypatch):
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation: True)
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: object() if name == "unsloth" else real_find_spec(name, *a),
        )
        hardware = detect_hardware()
        assert hardware.cuda and hardware.native.cuda_bf16 and hardware.unsloth
        assert select_backend("auto", hardware) == "unsloth"

    def test_cpu_without_unsloth_picks_hf(self, monkeypatch):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        hardware = detect_hardware()
        assert not hardware.cuda and hardware.device == "cpu"
        assert select_backend("auto", hardware) == "hf"


class TestSelectBackend:
    @pytest.mark.parametrize(
        ("requested", "hardware", "expected"),
        [
            ("auto", H200, "unsloth"),
            ("auto", T4_NO_UNSLOTH, "hf"),
            ("auto", CPU, "hf"),
            ("hf", H200, "hf"),
            ("unsloth", H200, "unsloth"),
        ],
    )
    def test_choice(self, requested, hardware, expected):
        assert select_backend(requested, hardware) == expected

    @pytest.mark.parametrize(
        ("hardware", "missing"), [(CPU, "a CUDA GPU"), (T4_NO_UNSLOTH, "the unsloth package")]
    )
    def test_unsloth_where_it_cannot_run_is_an_error(self, hardware, missing):
        with pytest.raises(ValueError, match=f"training.backend: unsloth` needs {missing}"):
            select_backend("unsloth", hardware)

    def test_unknown_backend_names_the_key(self):
        with pytest.raises(ValueError, match="training.backend"):
            select_backend("deepspeed", CPU)


class TestSelectPrecision:
    @pytest.fixture(autouse=True)
    def _fresh_warnings(self, monkeypatch):
        monkeypatch.setattr("python_tutor.precision._WARNED", set())

    @pytest.mark.parametrize(
        ("requested", "hardware", "expected", "fell_back"),
        [
            ("auto", H200, "bf16", False),
            ("auto", T4_NO_UNSLOTH, "fp16", False),
            ("auto", CPU_BF16, "bf16", False),
            ("auto", CPU, "fp32", False),
            ("bf16", T4_NO_UNSLOTH, "bf16", False),  # honoured, logged as emulated
            ("bf16", CPU, "bf16", False),
            ("fp16", CPU_BF16, "bf16", True),
            ("fp16", CPU, "fp32", True),
            ("fp16", H200, "fp16", False),
            ("fp32", H200, "fp32", False),
        ],
    )
    def test_choice(self, requested, hardware, expected, fell_back):
        precision, note = select_precision(requested, hardware)
        assert precision == expected
        assert (note is not None) == fell_back

    def test_emulated_bf16_is_kept_and_called_slow_once(self, caplog):
        with caplog.at_level(logging.WARNING):
            first = select_precision("bf16", CPU)
            second = select_precision("bf16", CPU)
        assert first == second == ("bf16", None)
        slow = [r.getMessage() for r in caplog.records if "emulated" in r.getMessage()]
        assert len(slow) == 1 and "training.model.precision" in slow[0]

    def test_unknown_precision_names_the_key(self):
        with pytest.raises(ValueError, match="training.model.precision"):
            select_precision("int8", CPU)


class TestPlanTraining:
    def test_gpu_recipe_applies_unchanged_on_a_gpu(self, caplog):
        with caplog.at_level(logging.WARNING):
            plan = plan_training("auto", GPU_RECIPE, GPU_SFT, H200)
        assert (plan.backend, plan.device, plan.precision) == ("unsloth", "cuda", "bf16")
        assert plan.load_in_4bit and plan.optim == "adamw_8bit"
        assert plan.fallbacks == ()
        assert not caplog.records

    def test_gpu_recipe_on_cpu_falls_back_and_logs_each_once(self, caplog):
        with caplog.at_level(logging.WARNING):
            plan = plan_training("auto", GPU_RECIPE, GPU_SFT, CPU_BF16)
        assert (plan.backend, plan.device, plan.precision) == ("hf", "cpu", "bf16")
        assert not plan.load_in_4bit
        assert plan.optim == "adamw_torch"
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == len(plan.fallbacks) == 2
        assert sum("load_in_4bit" in m and "bf16" in m for m in messages) == 1
        assert sum("adamw_8bit" in m and "adamw_torch" in m for m in messages) == 1

    def test_four_bit_needs_bitsandbytes_even_on_cuda(self):
        no_bnb = Hardware(native=H200.native, unsloth=False, bitsandbytes=False)
        plan = plan_training("hf", GPU_RECIPE, GPU_SFT, no_bnb)
        assert not plan.load_in_4bit and plan.optim == "adamw_torch"
        assert all("bitsandbytes" in note for note in plan.fallbacks)

    def test_settings_that_apply_are_not_touched(self):
        plan = plan_training("hf", {"load_in_4bit": False, "precision": "fp32"}, {}, CPU)
        assert plan.optim == "adamw_torch" and plan.precision == "fp32"
        assert plan.fallbacks == ()
