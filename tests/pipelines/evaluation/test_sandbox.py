"""The sandbox contains hostile snippets and reports them; it never crashes the caller.

Each attack runs through the real sandbox (bubblewrap, rlimits and the audit hook together). Where
the audit hook stops an attack first, the same attack is also run under bubblewrap alone
(``bubblewrap_command``, no hook, no rlimits): CPython's audit hooks are not a security boundary,
so the boundary must hold without them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from python_tutor.pipelines.evaluation.sandbox import (
    BLOCKED,
    BUBBLEWRAP,
    CPU_LIMIT,
    ERROR,
    MEMORY_LIMIT,
    OK,
    RLIMITS_ONLY,
    SANDBOX_DIR,
    TIMEOUT,
    SandboxLimits,
    SandboxUnavailable,
    bubblewrap_command,
    check_isolation,
    interpreter,
    run_snippet,
)

# A wall clock far above what these snippets need: the machine may be busy with other work.
LIMITS = SandboxLimits(timeout_s=10.0, cpu_s=2, memory_mb=256)
WEAKER = SandboxLimits(timeout_s=10.0, cpu_s=2, memory_mb=256, isolation=RLIMITS_ONLY)


def run_without_hook(code: str, timeout: float = 20) -> subprocess.CompletedProcess:
    """``code`` under bubblewrap alone: the boundary without the audit hook or rlimits."""
    command = [*bubblewrap_command(LIMITS), interpreter(), "-I", "-S", "-c", code]
    return subprocess.run(  # noqa: S603 - the sandbox's own command
        command, capture_output=True, text=True, timeout=timeout, env={}, check=False
    )


@pytest.fixture
def fake_project(tmp_path) -> tuple[Path, str]:
    """A project folder with a filled-in conf/local/credentials.yml, and its secret."""
    secret = f"kaggle-key-{uuid.uuid4().hex}"
    local = tmp_path / "python-tutor" / "conf" / "local"
    local.mkdir(parents=True)
    (local / "credentials.yml").write_text(
        f"kaggle:\n  username: ana-garcia\n  key: {secret}\n\n"
        f"translation:\n  api_key: sk-{secret}\n",
        encoding="utf-8",
    )
    return local / "credentials.yml", secret


# --- benign code -------------------------------------------------------------------------------


def test_a_normal_snippet_runs_and_its_output_is_kept():
    result = run_snippet("print(sum(range(10)))", LIMITS)
    assert result.status == OK, result
    assert result.ok
    assert result.stdout == "45\n"
    assert result.isolation == BUBBLEWRAP


HUMANEVAL_0 = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
    False
    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)
    True
    """
{body}

METADATA = {{
    'author': 'jt',
    'dataset': 'test'
}}


def check(candidate):
    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True
    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False
    assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.95) == True
    assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.8) == False
    assert candidate([1.0, 2.0, 3.0, 4.0, 5.0, 2.0], 0.1) == True
    assert candidate([1.1, 2.2, 3.1, 4.1, 5.1], 1.0) == True
    assert candidate([1.1, 2.2, 3.1, 4.1, 5.1], 0.5) == False

check(has_close_elements)
'''


def test_a_humaneval_style_solution_passes_and_a_wrong_one_fails():
    right = (
        "    for idx, elem in enumerate(numbers):\n"
        "        for idx2, elem2 in enumerate(numbers):\n"
        "            if idx != idx2 and abs(elem - elem2) < threshold:\n"
        "                return True\n"
        "    return False"
    )
    passed = run_snippet(HUMANEVAL_0.format(body=right), LIMITS)
    assert passed.status == OK, passed
    failed = run_snippet(HUMANEVAL_0.format(body="    return False"), LIMITS)
    assert failed.status == ERROR
    assert failed.reason == "AssertionError"


def test_a_failing_assert_is_reported_as_an_error_with_its_message():
    result = run_snippet("assert 1 + 1 == 3, 'la suma falla'", LIMITS)
    assert result.status == ERROR
    assert "AssertionError: la suma falla" in result.reason


def test_files_inside_the_work_dir_may_be_written_and_are_thrown_away():
    name = f"notes-{uuid.uuid4().hex}.txt"
    code = f"import os\nopen({name!r}, 'w').write('hola')\nprint(os.path.abspath({name!r}))"
    result = run_snippet(code, LIMITS)
    assert result.status == OK, result
    assert result.stdout.strip() == f"{SANDBOX_DIR}/{name}"
    assert not Path(result.stdout.strip()).exists()


# --- reading secrets ---------------------------------------------------------------------------

READ_FILE = "print(open({path!r}, encoding='utf-8').read())"


def test_the_projects_credentials_are_invisible(fake_project):
    credentials, secret = fake_project
    result = run_snippet(READ_FILE.format(path=str(credentials)), LIMITS)
    assert result.status == ERROR
    assert result.reason.startswith("FileNotFoundError"), result.reason
    assert secret not in result.stdout + result.stderr
    # The same snippet without bubblewrap reads them: the test can fail, and the weaker mode
    # is as weak as the docs say.
    weaker = run_snippet(READ_FILE.format(path=str(credentials)), WEAKER)
    assert weaker.status == OK
    assert secret in weaker.stdout


def test_the_project_folder_and_the_pipelines_files_are_invisible(project_root):
    code = (
        "import os\n"
        "print([os.path.exists(p) for p in ({root!r}, {conf!r}, '/etc', '/home', '/tmp')])\n"
        "print(' '.join(os.listdir('/')))"
    ).format(root=str(project_root), conf=str(project_root / "conf"))
    result = run_snippet(code, LIMITS)
    assert result.status == OK, result
    assert result.stdout.splitlines()[0] == "[False, False, False, False, False]"
    visible = set(result.stdout.splitlines()[1].split())
    assert visible <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "proc", "dev",
                       "sandbox", "snippet.py", *Path(interpreter()).parts[1:2]}  # fmt: skip


def test_etc_shadow_cannot_be_read():
    result = run_snippet(READ_FILE.format(path="/etc/shadow"), LIMITS)
    assert result.status == ERROR
    assert result.reason.startswith("FileNotFoundError"), result.reason


def test_secrets_in_the_environment_do_not_reach_the_snippet(monkeypatch):
    secret = f"hf_{uuid.uuid4().hex}"
    monkeypatch.setenv("HF_TOKEN", secret)
    monkeypatch.setenv("TRANSLATION_API_KEY", secret)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid")
    code = (
        "import glob, os\n"
        "print(sorted(os.environ))\n"
        "for path in glob.glob('/proc/*/environ'):\n"
        "    try:\n"
        "        print(open(path, 'rb').read())\n"
        "    except OSError as error:\n"
        "        print(path, error)\n"
    )
    result = run_snippet(code, LIMITS)
    assert result.status == OK, result
    assert secret not in result.stdout
    # bwrap sets PWD to the working directory; nothing else is added.
    assert result.stdout.splitlines()[0] == "['HOME', 'LANG', 'LC_ALL', 'PATH', 'PWD', 'TMPDIR']"


# --- writing, connecting, signalling -----------------------------------------------------------


def test_writing_outside_the_work_dir_is_refused_and_nothing_is_written(tmp_path):
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


def test_without_the_hook_every_path_outside_the_work_dir_is_read_only_or_absent(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    targets = [str(victim), "/usr/evil", "/evil", "/dev/evil", "/proc/evil", interpreter() + "x"]
    code = (
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('wrote', path)\n"
        "    except OSError as error:\n"
        "        print(type(error).__name__)\n"
        "open('inside.txt', 'w').write('x')\n"
    )
    done = run_without_hook(code)
    assert done.returncode == 0, done.stderr
    assert "wrote" not in done.stdout
    assert len(done.stdout.splitlines()) == len(targets)
    assert victim.read_text() == "keep me"
    assert not Path(interpreter() + "x").exists()


CONNECT = "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)"


@pytest.fixture
def listener():
    """A TCP server on the host's 127.0.0.1 that no snippet may reach."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        yield server


def assert_nobody_connected(server: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        server.accept()


@pytest.mark.parametrize(
    "code",
    [
        "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        CONNECT,
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)",
    ],
    ids=["socket", "connect", "urllib"],
)
def test_opening_a_socket_is_refused(listener, code):
    result = run_snippet(code.format(port=listener.getsockname()[1]), LIMITS)
    assert_nobody_connected(listener)
    assert result.status == BLOCKED
    assert "socket." in result.reason


def test_without_the_hook_the_hosts_loopback_is_unreachable(listener):
    done = run_without_hook(CONNECT.format(port=listener.getsockname()[1]))
    assert_nobody_connected(listener)
    assert done.returncode == 1
    assert "ConnectionRefusedError" in done.stderr or "OSError" in done.stderr, done.stderr


KILL = "import os, signal\nos.kill({pid}, signal.SIGKILL)\nprint('alive')"


@pytest.mark.parametrize("target", ["os.getppid()", "PYTEST_PID"])
def test_killing_the_parent_is_refused(target):
    result = run_snippet(KILL.format(pid=target.replace("PYTEST_PID", str(os.getpid()))), LIMITS)
    assert result.status == BLOCKED
    assert "os.kill" in result.reason


def test_without_the_hook_no_process_outside_the_sandbox_can_be_signalled():
    # In its own pid namespace the snippet's parent is bwrap's init, which ignores SIGKILL
    # from inside; the pipeline's pid does not exist there.
    parent = run_without_hook(KILL.format(pid="os.getppid()"))
    assert parent.returncode == 0, parent.stderr
    assert parent.stdout == "alive\n"
    pipeline = run_without_hook(KILL.format(pid=os.getpid()))
    assert "ProcessLookupError" in pipeline.stderr


# --- processes, memory, time -------------------------------------------------------------------


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


def test_without_the_hook_a_process_left_behind_dies_with_the_sandbox():
    marker = f"left-behind-{uuid.uuid4().hex}"
    code = f"import os, time\nif os.fork() == 0:\n    time.sleep(60)  # {marker}\n"
    done = run_without_hook(code, timeout=30)
    assert done.returncode == 0, done.stderr
    survivors = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                survivors.append(cmdline.parent.name)
        except OSError:
            continue  # the process ended while we looked
    assert survivors == []


@pytest.mark.parametrize(
    "code",
    ["x = bytearray(4 * 1024 ** 3)", "chunks = []\nwhile True:\n    chunks.append(b'x' * 10**7)"],
    ids=["one-big-allocation", "growing-list"],
)
def test_a_memory_hog_hits_the_memory_limit(code):
    result = run_snippet(code, LIMITS)
    assert result.status == MEMORY_LIMIT
    assert "256 MB" in result.reason


def test_flooding_stdout_is_cut_by_the_file_size_limit():
    limits = SandboxLimits(timeout_s=5.0, file_size_mb=1, output_chars=100)
    result = run_snippet("while True:\n    print('x' * 1000)", limits)
    assert result.status == ERROR
    assert len(result.stdout) == 100


def test_filling_the_work_dir_stops_at_its_size():
    limits = SandboxLimits(timeout_s=5.0, work_dir_mb=4, file_size_mb=16)
    result = run_snippet("open('big', 'wb').write(b'x' * 8 * 1024 * 1024)", limits)
    assert result.status == ERROR
    assert "No space left on device" in result.reason


# --- native code -------------------------------------------------------------------------------


@pytest.fixture
def native_library(tmp_path) -> tuple[Path, str]:
    """A shared library outside every bound path, and a function of it that maps -42 to 42.

    Compiled with gcc (``negate``) when gcc exists, else a copy of the host's libc (``abs``).
    """
    gcc = shutil.which("gcc")
    if gcc:
        source = tmp_path / "negate.c"
        source.write_text("int negate(int x) { return -x; }\n", encoding="utf-8")
        library = tmp_path / "libnegate.so"
        subprocess.run([gcc, "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
        return library, "negate"
    libc = ctypes.util.find_library("c")
    assert libc, "neither gcc nor libc found"
    found = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=True)
    path = next(line.split(" => ")[1] for line in found.stdout.splitlines() if libc in line)
    library = tmp_path / libc
    shutil.copyfile(path, library)
    return library, "abs"


LOAD = "import ctypes\nprint(ctypes.CDLL({path!r}).{function}(-42))"


def test_loading_native_code_through_ctypes_is_refused(native_library):
    library, function = native_library
    assert getattr(ctypes.CDLL(str(library)), function)(-42) == 42  # it works outside
    for code in (LOAD, "import _ctypes"):
        result = run_snippet(code.format(path=str(library), function=function), LIMITS)
        assert result.status == BLOCKED, (code, result)
        assert "ctypes" in result.reason
        assert "42" not in result.stdout


def test_without_the_hook_a_library_outside_the_bound_paths_cannot_be_opened(native_library):
    library, function = native_library
    done = run_without_hook(LOAD.format(path=str(library), function=function))
    assert done.returncode == 1
    assert "cannot open shared object file" in done.stderr, done.stderr
    assert "42" not in done.stdout


def test_raising_the_limits_or_walking_the_heap_is_refused():
    for code in ("import resource", "import gc", "import ctypes"):
        assert run_snippet(code, LIMITS).status == BLOCKED, code


# --- fail closed -------------------------------------------------------------------------------


def test_without_bwrap_snippets_do_not_run_and_the_error_names_the_parameter(
    monkeypatch, tmp_path, fake_project
):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    with pytest.raises(SandboxUnavailable) as refused:
        run_snippet("print('ran')", LIMITS)
    message = str(refused.value)
    assert "`bwrap` is not on PATH" in message
    assert "`evaluation.scoring.sandbox.isolation: rlimits-only`" in message
    with pytest.raises(SandboxUnavailable):
        check_isolation(LIMITS)


def test_when_bwrap_cannot_make_namespaces_snippets_do_not_run(monkeypatch, tmp_path):
    # What bwrap says where user namespaces are not allowed (a locked-down container).
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the "
        "kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(SandboxUnavailable, match=r"No permissions to creating new namespace"):
        run_snippet("print('ran')", LIMITS)


def test_the_weaker_mode_runs_only_when_asked_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    result = run_snippet("import os\nopen('x', 'w').write('1')\nprint(os.getcwd())", WEAKER)
    assert result.status == OK, result
    assert result.isolation == RLIMITS_ONLY
    assert check_isolation(WEAKER) == RLIMITS_ONLY
    assert result.stdout.strip() != SANDBOX_DIR
    # The hook still holds in the weaker mode.
    assert run_snippet("import os\nos.fork()", WEAKER).status == BLOCKED


def test_the_default_isolation_is_bubblewrap():
    assert SandboxLimits().isolation == BUBBLEWRAP
    assert check_isolation(SandboxLimits()) == BUBBLEWRAP


def test_an_unknown_isolation_is_named():
    with pytest.raises(ValueError, match=r"evaluation\.scoring\.sandbox\.isolation.*'none'"):
        SandboxLimits.from_params({"isolation": "none"})


def test_unknown_limit_keys_are_named():
    with pytest.raises(ValueError, match=r"\['memory_gb'\].*evaluation\.scoring\.sandbox"):
        SandboxLimits.from_params({"memory_gb": 1})


def test_a_signal_inside_bubblewrap_is_reported_as_that_signal():
    result = run_snippet("import os, signal\nsignal.raise_signal(signal.SIGSEGV)", LIMITS)
    assert result.returncode == -signal.SIGSEGV
    assert result.status == MEMORY_LIMIT
