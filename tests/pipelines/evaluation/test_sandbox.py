"""The sandbox contains hostile snippets and reports them; it never crashes the caller."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from python_tutor.pipelines.evaluation.sandbox import (
    BLOCKED,
    CPU_LIMIT,
    ERROR,
    MEMORY_LIMIT,
    OK,
    TIMEOUT,
    SandboxLimits,
    network_namespace_available,
    run_snippet,
)

LIMITS = SandboxLimits(timeout_s=2.0, cpu_s=2, memory_mb=256)


def test_a_normal_snippet_runs_and_its_output_is_kept():
    result = run_snippet("print(sum(range(10)))", LIMITS)
    assert result.status == OK, result
    assert result.ok
    assert result.stdout == "45\n"


def test_a_failing_assert_is_reported_as_an_error_with_its_message():
    result = run_snippet("assert 1 + 1 == 3, 'la suma falla'", LIMITS)
    assert result.status == ERROR
    assert "AssertionError: la suma falla" in result.reason


def test_an_infinite_loop_is_stopped_by_the_wall_clock():
    result = run_snippet("while True:\n    pass", SandboxLimits(timeout_s=1.0, cpu_s=30))
    assert result.status == TIMEOUT
    assert "1 s wall clock" in result.reason
    assert result.seconds < 10


def test_a_sleeping_snippet_is_stopped_by_the_wall_clock_not_the_cpu_limit():
    result = run_snippet("import time\ntime.sleep(60)", SandboxLimits(timeout_s=1.0, cpu_s=30))
    assert result.status == TIMEOUT


def test_a_busy_loop_hits_the_cpu_limit_before_a_long_wall_clock():
    result = run_snippet("while True:\n    pass", SandboxLimits(timeout_s=20.0, cpu_s=1))
    assert result.status == CPU_LIMIT
    assert "1 s of CPU" in result.reason


@pytest.mark.parametrize(
    "code",
    [
        "import os\nwhile True:\n    os.fork()",
        "import posix\nposix.fork()",
        "import subprocess\nsubprocess.run(['true'])",
        "import os\nos.system('true')",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()",
        "import os\nos.execv('/bin/true', ['true'])",
    ],
    ids=["fork-bomb", "posix-fork", "subprocess", "system", "multiprocessing", "exec"],
)
def test_fork_bombs_and_child_processes_are_refused(code):
    result = run_snippet(code, LIMITS)
    assert result.status == BLOCKED
    assert "refused" in result.reason


def test_a_refusal_cannot_be_caught_by_the_snippet():
    code = "import os\ntry:\n    os.fork()\nexcept BaseException:\n    pass\nprint('escaped')"
    result = run_snippet(code, LIMITS)
    assert result.status == BLOCKED
    assert "escaped" not in result.stdout


@pytest.mark.parametrize(
    "code",
    ["x = bytearray(4 * 1024 ** 3)", "chunks = []\nwhile True:\n    chunks.append(b'x' * 10**7)"],
    ids=["one-big-allocation", "growing-list"],
)
def test_a_memory_hog_hits_the_memory_limit(code):
    result = run_snippet(code, LIMITS)
    assert result.status == MEMORY_LIMIT
    assert "256 MB" in result.reason


def test_writing_outside_the_temp_dir_is_refused_and_nothing_is_written(tmp_path):
    target = tmp_path / f"escape-{uuid.uuid4().hex}.txt"
    result = run_snippet(f"open({str(target)!r}, 'w').write('x')", LIMITS)
    assert result.status == BLOCKED
    assert str(target) in result.reason
    assert not target.exists()


@pytest.mark.parametrize(
    "code",
    [
        "import pathlib\npathlib.Path({path!r}).write_text('x')",
        "import os\nos.open({path!r}, os.O_WRONLY | os.O_CREAT)",
        "import os\nos.remove({victim!r})",
        "import os\nos.rename({victim!r}, 'stolen')",
        "import os\nos.mkdir({path!r})",
        "open('../' + {name!r}, 'a')",
    ],
    ids=["pathlib", "os-open", "remove", "rename", "mkdir", "relative-escape"],
)
def test_every_way_of_touching_files_outside_is_refused(tmp_path, code):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    path = tmp_path / "new"
    result = run_snippet(code.format(path=str(path), victim=str(victim), name=path.name), LIMITS)
    assert result.status == BLOCKED, result
    assert victim.read_text() == "keep me"
    assert not path.exists()


def test_files_inside_the_temp_dir_may_be_written_and_are_thrown_away():
    code = "import os\nopen('notes.txt', 'w').write('hola')\nprint(os.getcwd())"
    result = run_snippet(code, LIMITS)
    assert result.status == OK, result
    assert not Path(result.stdout.strip()).exists()


@pytest.mark.parametrize(
    "code",
    [
        "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)",
    ],
    ids=["socket", "connect", "urllib"],
)
def test_opening_a_socket_is_refused(code):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        result = run_snippet(code.format(port=server.getsockname()[1]), LIMITS)
        with pytest.raises(TimeoutError):
            server.accept()
    assert result.status == BLOCKED
    assert "socket." in result.reason


def test_the_environment_is_minimal_and_carries_no_credentials(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid")
    result = run_snippet("import os\nprint(sorted(os.environ))", LIMITS)
    assert result.status == OK
    assert result.stdout.strip() == "['HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR']"
    home = run_snippet("import os\nprint(os.environ['HOME'] == os.getcwd())", LIMITS)
    assert home.stdout == "True\n"


def test_raising_the_limits_or_walking_the_heap_is_refused():
    for code in ("import resource", "import gc", "import ctypes"):
        assert run_snippet(code, LIMITS).status == BLOCKED, code


def test_flooding_stdout_is_cut_by_the_file_size_limit():
    limits = SandboxLimits(timeout_s=5.0, file_size_mb=1, output_chars=100)
    result = run_snippet("while True:\n    print('x' * 1000)", limits)
    assert result.status == ERROR
    assert len(result.stdout) == 100


def test_network_namespace_is_used_when_available():
    result = run_snippet("pass", LIMITS)
    assert result.network_namespace == network_namespace_available()
    off = run_snippet("pass", SandboxLimits(isolate_network=False))
    assert off.network_namespace is False


def test_unknown_limit_keys_are_named():
    with pytest.raises(ValueError, match=r"\['memory_gb'\].*evaluation\.sandbox"):
        SandboxLimits.from_params({"memory_gb": 1})
