"""Run untrusted Python (model answers, problem tests) so that nothing it does can hurt us.

Each snippet runs in its own ``python -I -S`` process, in a new session (its whole process group
is killed on timeout), in a throw-away working directory, with a minimal environment (no
credentials, no proxies, ``HOME`` is the temp dir) and these limits:

- wall clock (``timeout_s``), CPU seconds (``RLIMIT_CPU``), address space (``RLIMIT_AS``), file
  size (``RLIMIT_FSIZE``), open files (``RLIMIT_NOFILE``), no core dumps;
- an audit hook, installed in the child before the snippet runs, refuses process creation
  (``os.fork``, ``subprocess``, ``os.system``, ``exec``, ``posix_spawn``), signals to other
  processes, sockets, ``ctypes``, and writes, deletes or renames outside the working directory.
  Root ignores ``RLIMIT_NPROC``, so this hook, not a process limit, is what stops a fork bomb;
- no network namespace (``unshare --net``) when the kernel lets us make one (detected once).

The outcome is always a ``SandboxResult`` with a ``status`` and a ``reason``, never an exception.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from shutil import which
from typing import Any

OK = "ok"
ERROR = "error"
TIMEOUT = "timeout"
CPU_LIMIT = "cpu_limit"
MEMORY_LIMIT = "memory_limit"
BLOCKED = "blocked"
KILLED = "killed"
STATUSES = (OK, ERROR, TIMEOUT, CPU_LIMIT, MEMORY_LIMIT, BLOCKED, KILLED)

SNIPPET_FILE = "snippet.py"
EVENTS_FILE = ".sandbox_events"
STDOUT_FILE = ".stdout"
STDERR_FILE = ".stderr"
BLOCKED_EXIT_CODE = 77

# Runs in the child before the snippet: reads it, opens the event log, installs the hook, runs it.
# A refused event is written to the log through a descriptor opened beforehand (os.write raises
# no audit event) and ends the process at once (os._exit): the snippet can neither catch it nor
# reach the hook's state through a traceback. The hook never calls snippet code: paths of types
# other than str/bytes/int/pathlib are refused rather than converted.
_BOOTSTRAP = r"""
import os, sys

def _install(script, log_path, blocked_code):
    root = os.path.realpath(os.getcwd())
    with open(script, encoding="utf-8") as handle:
        source = handle.read()
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    process = frozenset({"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn",
                         "os.spawn", "subprocess.Popen", "os.kill", "os.killpg",
                         "signal.pthread_kill", "pty.spawn", "sys.settrace", "sys.setprofile"})
    paths = {"os.remove": 1, "os.rename": 2, "os.rmdir": 1, "os.mkdir": 1, "os.chmod": 1,
             "os.chown": 1, "os.link": 2, "os.symlink": 2, "os.truncate": 1, "os.utime": 1,
             "os.chdir": 1, "shutil.rmtree": 1, "shutil.move": 2, "shutil.copyfile": 2,
             "os.mkfifo": 1, "os.mknod": 1}
    # gc could reach this hook's state; resource could raise the limits (we may be root).
    modules = frozenset({"_posixsubprocess", "_ctypes", "ctypes", "resource", "gc",
                         "_testcapi", "_xxsubinterpreters"})
    write = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def plain(path):
        if type(path) in (str, bytes, int):
            return path
        pathlib = sys.modules.get("pathlib")
        if pathlib and type(path) in (pathlib.PosixPath, pathlib.PurePosixPath):
            return os.fspath(path)
        return None

    def inside(path):
        path = plain(path)
        if path is None:
            return False
        if isinstance(path, int):
            return True
        full = os.path.realpath(os.path.join(root, os.fsdecode(path)))
        return full == root or full.startswith(root + os.sep)

    def refuse(event, detail):
        message = f"{event}: {detail}".replace("\n", " ")
        os.write(log, (message + "\n").encode("utf-8", "replace"))
        os.write(2, f"sandbox refused {message}\n".encode("utf-8", "replace"))
        os._exit(blocked_code)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writes = (type(mode) is str and any(c in mode for c in "wax+")) or (
                type(flags) is int and flags & write)
            if path is not None and writes and not inside(path):
                refuse(event, f"write to {plain(path)!r} outside the working directory")
        elif event in process:
            refuse(event, "creating or signalling processes is not allowed")
        elif event.startswith(("socket.", "ctypes.")):
            refuse(event, "network and native calls are not allowed")
        elif event == "import" and type(args[0]) is str and args[0] in modules:
            refuse(event, f"module {args[0]!r} is not allowed")
        elif event == "object.__setattr__" and type(args[1]) is str and args[1] == "__code__":
            refuse(event, "replacing code objects is not allowed")
        elif event in paths:
            for path in args[: paths[event]]:
                if path is not None and not inside(path):
                    refuse(event, f"{plain(path)!r} is outside the working directory")

    code = compile(source, "<snippet>", "exec")
    sys.addaudithook(hook)
    return code

_code = _install(sys.argv[1], sys.argv[2], int(sys.argv[3]))
del _install
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
"""


@dataclass(frozen=True)
class SandboxLimits:
    """What one snippet may use; built from ``params:evaluation.sandbox``."""

    timeout_s: float = 5.0  # wall clock, whole process group killed after it
    cpu_s: int = 5  # RLIMIT_CPU, seconds of CPU time
    memory_mb: int = 512  # RLIMIT_AS, address space
    file_size_mb: int = 16  # RLIMIT_FSIZE, any one file (stdout/stderr included)
    max_open_files: int = 64  # RLIMIT_NOFILE
    output_chars: int = 2000  # how much stdout/stderr the result keeps
    isolate_network: bool = True  # use `unshare --net` when the kernel allows it

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SandboxLimits:
        """Limits from a parameter block; unknown keys are an error naming the key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"Unknown key(s) {unknown} in parameters `evaluation.sandbox`; "
                f"known keys are {sorted(known)}"
            )
        return cls(**params)


@dataclass(frozen=True)
class SandboxResult:
    """How a snippet ended: ``status`` is one of ``STATUSES``, ``reason`` says why in words."""

    status: str
    reason: str
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    network_namespace: bool

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def network_namespace_available() -> bool:
    """Whether ``unshare --net`` works here (root or user namespaces); asked once per process."""
    unshare = which("unshare")
    if not unshare:
        return False
    try:
        done = subprocess.run(
            [unshare, "--net", "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _limit_child(limits: SandboxLimits) -> None:
    """Runs in the child between fork and exec: resource limits that the snippet cannot raise."""
    megabyte = 1024 * 1024
    cpu = max(1, int(limits.cpu_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = limits.memory_mb * megabyte
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = limits.file_size_mb * megabyte
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _minimal_env(workdir: str) -> dict[str, str]:
    """Nothing from our environment: no tokens, no proxies, no HOME with secrets."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the snippet and everything it may have started (same process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _read(path: Path, limit: int) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        return handle.read(limit * 4).decode("utf-8", "replace")[:limit]


def _classify(  # noqa: PLR0911 - one ordered decision list
    returncode: int, timed_out: bool, events: list[str], stderr: str, limits: SandboxLimits
) -> tuple[str, str]:
    """Status and reason, the most specific first."""
    if timed_out:
        return (
            TIMEOUT,
            f"still running after {limits.timeout_s:g} s wall clock; process group killed",
        )
    if events:
        return BLOCKED, f"refused {events[0]}"
    if returncode == -signal.SIGXCPU:
        return CPU_LIMIT, f"used more than {limits.cpu_s} s of CPU time"
    if "MemoryError" in stderr or returncode in (-signal.SIGSEGV, -signal.SIGABRT):
        return MEMORY_LIMIT, f"ran out of its {limits.memory_mb} MB address space"
    if returncode == -signal.SIGXFSZ:
        return ERROR, f"wrote a file larger than {limits.file_size_mb} MB"
    if returncode < 0:
        return KILLED, f"killed by signal {signal.Signals(-returncode).name}"
    if returncode != 0:
        last = stderr.strip().splitlines()[-1:] or [f"exit status {returncode}"]
        return ERROR, last[0][:300]
    return OK, "ran to the end without error"


def run_snippet(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``code`` as a script in the sandbox and report how it ended (never raises for it)."""
    limits = limits or SandboxLimits()
    isolate = limits.isolate_network and network_namespace_available()
    with tempfile.TemporaryDirectory(prefix="python_tutor_sandbox_") as workdir:
        work = Path(workdir)
        (work / SNIPPET_FILE).write_text(code, encoding="utf-8")
        (work / EVENTS_FILE).touch()
        command = [sys.executable, "-I", "-S", "-X", "utf8", "-c", _BOOTSTRAP]
        command += [SNIPPET_FILE, EVENTS_FILE, str(BLOCKED_EXIT_CODE)]
        if isolate:
            command = [which("unshare") or "unshare", "--net", *command]
        started = time.monotonic()
        with (work / STDOUT_FILE).open("wb") as out, (work / STDERR_FILE).open("wb") as err:
            process = subprocess.Popen(  # noqa: S603 - the point of this module
                command,
                cwd=workdir,
                env=_minimal_env(workdir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=lambda: _limit_child(limits),  # noqa: PLW1509 - single-threaded use
                close_fds=True,
            )
            timed_out = False
            try:
                process.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            # Even a finished snippet may have left children behind: always clear the group.
            _kill_group(process)
        seconds = time.monotonic() - started
        stderr = _read(work / STDERR_FILE, limits.output_chars)
        events = _read(work / EVENTS_FILE, limits.output_chars).splitlines()
        status, reason = _classify(process.returncode, timed_out, events, stderr, limits)
        return SandboxResult(
            status=status,
            reason=reason,
            returncode=None if timed_out else process.returncode,
            stdout=_read(work / STDOUT_FILE, limits.output_chars),
            stderr=stderr,
            seconds=round(seconds, 3),
            network_namespace=isolate,
        )
