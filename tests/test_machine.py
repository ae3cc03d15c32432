"""The machine record that metrics and benchmark results carry."""

from __future__ import annotations

import pytest

from python_tutor import machine

# Shape of a real /proc/cpuinfo (two processors, long flag lines, tabs before the colon).
CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx \
fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl \
nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 \
x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm \
sse4a misalignsse 3dnowprefetch osvw topoext invpcid_single ssbd ibrs ibpb stibp vmmcall \
fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni \
xsaveopt xsavec xgetbv1 clzero xsaveerptr arat npt nrip_save umip vaes vpclmulqdq rdpid fsrm
bogomips\t: 4899.99

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu avx2
"""
SAPPHIRE_RAPIDS_FLAGS = "fpu sse2 avx avx2 avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8"


def fake_cpuinfo(tmp_path, monkeypatch, text):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    monkeypatch.setattr(machine, "CPUINFO", path)


def test_avx2_only_cpu(tmp_path, monkeypatch):
    fake_cpuinfo(tmp_path, monkeypatch, CPUINFO)
    info = machine.cpu()
    assert (info["model"], info["flags"]) == ("AMD EPYC 7B13", ["avx2"])
    assert "AMD EPYC 7B13" in machine.machine() and "flags avx2;" in machine.machine()


def test_amx_cpu_lists_its_bf16_flags(tmp_path, monkeypatch):
    text = f"model name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: {SAPPHIRE_RAPIDS_FLAGS}\n"
    fake_cpuinfo(tmp_path, monkeypatch, text)
    assert machine.cpu()["flags"] == ["avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]


def test_without_proc_cpuinfo_flags_are_unknown_not_none(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "absent")
    monkeypatch.setattr(machine.platform, "processor", lambda: "arm")
    info = machine.cpu()
    assert info["flags"] is None and info["model"] == "arm"
    assert "flags unknown" in machine.machine()


@pytest.mark.parametrize(("setting", "expected"), [(None, 3), (1, 1), ("4", 4)])
def test_thread_setting_null_means_every_core_this_process_may_use(monkeypatch, setting, expected):
    monkeypatch.setattr(machine.os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 8)
    assert machine.cpu_threads(setting) == expected
