"""Run untrusted Python (model answers, problem tests) so that nothing it does can hurt us.

The boundary is bubblewrap (``bwrap``, Debian package ``bubblewrap``). Each snippet runs in its
own ``python -I -S`` process inside new user, mount, pid, network, ipc, uts and cgroup
namespaces, as uid/gid 65534 (nobody) without capabilities, in a new session, and dies with its
parent. Its file system holds only read-only binds of ``/usr`` (system libraries) and of the
Python installation that runs it (its prefix, not the project's virtual environment, which
``-I -S`` never reads), a fresh ``/proc``, a read-only ``/dev`` and a size-limited tmpfs working
directory, the only writable place. The project folder, ``conf/local``, ``/etc``, ``/home``,
``/tmp`` and the rest of ``/root`` do not exist there; the network namespace has only its own
loopback; the environment is five plain variables.

Defence in depth, in both isolation modes:

- wall clock (``timeout_s``: the whole process group is killed), CPU seconds (``RLIMIT_CPU``),
  address space (``RLIMIT_AS``), file size (``RLIMIT_FSIZE``), open files (``RLIMIT_NOFILE``),
  processes (``RLIMIT_NPROC``; the kernel does not enforce it when the pipeline runs as root),
  no core dumps;
- an audit hook, installed in the child before the snippet runs, refuses process creation
  (``os.fork``, ``subprocess``, ``os.system``, ``exec``, ``posix_spawn``), signals, sockets,
  ``ctypes`` (so no native code is loaded), and writes, deletes or renames outside the working
  directory. CPython documents audit hooks as no security boundary: bubblewrap is the boundary.

Fail closed: when bubblewrap cannot set up its namespaces here (checked once per process) a
snippet does not run and ``SandboxUnavailable`` names the parameter that allows the weaker
``rlimits-only`` mode (limits and hook only: the snippet then reads what the pipeline can read).
Otherwise the outcome is always a ``SandboxResult`` with a ``status``, a ``reason`` and the
``isolation`` it ran under, never an exception.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import cache
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

BUBBLEWRAP = "bubblewrap"
RLIMITS_ONLY = "rlimits-only"
ISOLATIONS = (BUBBLEWRAP, RLIMITS_ONLY)
PARAMETERS = "evaluation.scoring.sandbox"  # where SandboxLimits comes from, for error messages

SNIPPET_FILE = "snippet.py"
EVENTS_FILE = ".sandbox_events"
STDOUT_FILE = ".stdout"
STDERR_FILE = ".stderr"
BLOCKED_EXIT_CODE = 77
SANDBOX_ID = 65534  # uid and gid inside bubblewrap: nobody/nogroup
SANDBOX_DIR = "/sandbox"  # the working directory inside bubblewrap, a tmpfs
SANDBOX_SNIPPET = f"/{SNIPPET_FILE}"  # read-only, outside the working directory
MEGABYTE = 1024 * 1024

# Runs in the child before the snippet: reads it, limits its processes, installs the hook, runs
# it. A refused event is written to the event log through a descriptor inherited from the parent
# (os.write raises no audit event) and ends the process at once (os._exit): the snippet can
# neither catch it nor reach the hook's state through a traceback. The hook never calls snippet
# code: paths of types other than str/bytes/int/pathlib are refused rather than converted.
_BOOTSTRAP = r"""
import os, sys

def _install(script, log, blocked_code, max_processes):
    import resource
    # Set here, not before bwrap: the kernel counts processes per user, and outside the
    # sandbox's user namespace that count includes every process of the pipeline's user.
    resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))
    del sys.modules["resource"]  # a later `import resource` is audited, and refused
    root = os.path.realpath(os.getcwd())
    with open(script, encoding="utf-8") as handle:
        source = handle.read()
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

_code = _install(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
del _install
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
"""


class SandboxUnavailable(RuntimeError):
    """The required isolation cannot be set up here, so no snippet runs (fail closed)."""


@dataclass(frozen=True)
class SandboxLimits:
    """What one snippet may use and how it is isolated; built from the ``PARAMETERS`` block."""

    timeout_s: float = 5.0  # wall clock, whole process group killed after it
    cpu_s: int = 5  # RLIMIT_CPU, seconds of CPU time
    memory_mb: int = 512  # RLIMIT_AS, address space
    file_size_mb: int = 16  # RLIMIT_FSIZE, any one file (stdout/stderr included)
    max_open_files: int = 64  # RLIMIT_NOFILE
    max_processes: int = 16  # RLIMIT_NPROC, set inside the snippet's process
    work_dir_mb: int = 64  # size of the tmpfs working directory under bubblewrap
    output_chars: int = 2000  # how much stdout/stderr the result keeps
    isolation: str = BUBBLEWRAP  # BUBBLEWRAP (required: fail closed) or RLIMITS_ONLY (weaker)

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATIONS:
            raise ValueError(
                f"`{PARAMETERS}.isolation` is {self.isolation!r}; use one of {list(ISOLATIONS)}"
            )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SandboxLimits:
        """Limits from a parameter block; unknown keys are an error naming the key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"Unknown key(s) {unknown} in parameters `{PARAMETERS}`; "
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
    isolation: str  # BUBBLEWRAP or RLIMITS_ONLY: what the report states

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def interpreter() -> str:
    """The installed Python that runs snippets: the base of a virtual environment, not its link.

    A venv's ``bin/python`` lives in the project folder, which the sandbox must not see; with
    ``-I -S`` the base interpreter behaves the same (no site-packages either way).
    """
    versioned = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(versioned) if versioned.is_file() else os.path.realpath(sys.executable)


def _read_only_system() -> list[str]:
    """bwrap arguments: ``/usr`` and the Python installation read-only, top-level links kept."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    bound = ["/usr"]
    needed = (sys.base_prefix, sys.base_exec_prefix, os.path.dirname(interpreter()))
    for path in sorted({os.path.realpath(path) for path in needed}):
        if not any(path == done or path.startswith(done + os.sep) for done in bound):
            args += ["--ro-bind", path, path]
            bound.append(path)
    return args


def _bubblewrap_args(bwrap: str, limits: SandboxLimits, snippet: str | None = None) -> list[str]:
    source = ["--ro-bind", snippet, SANDBOX_SNIPPET] if snippet else []
    return [
        bwrap,
        "--unshare-all",  # user, mount, pid, network, ipc, uts, cgroup
        "--unshare-user",  # required, not just tried: the uid below needs it
        "--disable-userns",  # no nested user namespace from inside
        "--uid", str(SANDBOX_ID),
        "--gid", str(SANDBOX_ID),
        "--hostname", "sandbox",
        "--die-with-parent",
        "--new-session",  # no TIOCSTI into our terminal
        *_read_only_system(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(limits.work_dir_mb * MEGABYTE),
        "--tmpfs", SANDBOX_DIR,
        "--chdir", SANDBOX_DIR,
        *source,
        "--remount-ro", "/",  # bwrap's root and /dev are tmpfs without a size: no writes there
        "--remount-ro", "/dev",  # (its device nodes still work)
    ]  # fmt: skip


def _minimal_env(workdir: str) -> dict[str, str]:
    """Nothing from our environment: no tokens, no proxies, no HOME with secrets."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


@cache
def _bubblewrap_problem(bwrap: str | None) -> str | None:
    """Why bubblewrap cannot isolate a snippet here, or None when it can; asked once per bwrap."""
    if bwrap is None:
        return "`bwrap` is not on PATH; it is the Debian package `bubblewrap`"
    probe = f"import os, sys; sys.exit(os.getuid() != {SANDBOX_ID})"
    command = [*_bubblewrap_args(bwrap, SandboxLimits()), interpreter(), "-I", "-S", "-c", probe]
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            command, capture_output=True, env=_minimal_env(SANDBOX_DIR), timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"{bwrap} did not run: {error}"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        return f"{bwrap} failed (exit status {done.returncode}): {' '.join(said) or 'no message'}"
    return None


def check_isolation(limits: SandboxLimits) -> str:
    """The isolation snippets run under with these limits: ``bubblewrap`` or ``rlimits-only``.

    Raises ``SandboxUnavailable`` naming the parameter to change when bubblewrap is required but
    cannot be set up here (missing, or namespaces not allowed): fail closed, never silently weaker.
    """
    if limits.isolation == RLIMITS_ONLY:
        return RLIMITS_ONLY
    problem = _bubblewrap_problem(which("bwrap"))
    if problem:
        raise SandboxUnavailable(
            f"Snippets are not run: bubblewrap cannot isolate them here ({problem}). Install "
            f"bubblewrap (`make system-deps`) on a machine that allows user namespaces, or set "
            f"`{PARAMETERS}.isolation: {RLIMITS_ONLY}` to run them with resource limits and the "
            f"audit hook only, where a snippet can read every file the pipeline can read."
        )
    return BUBBLEWRAP


def bubblewrap_command(limits: SandboxLimits, snippet: str | None = None) -> list[str]:
    """``bwrap`` and its options, up to the command it runs: the boundary on its own.

    ``snippet``, a host file, is bound read-only at ``SANDBOX_SNIPPET``. Raises
    ``SandboxUnavailable`` like ``check_isolation`` when bubblewrap cannot be used.
    """
    check_isolation(SandboxLimits(isolation=BUBBLEWRAP))
    return _bubblewrap_args(which("bwrap") or "bwrap", limits, snippet)


def _limit_child(limits: SandboxLimits) -> None:
    """Runs in the child between fork and exec: resource limits that the snippet cannot raise."""
    cpu = max(1, int(limits.cpu_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = limits.memory_mb * MEGABYTE
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = limits.file_size_mb * MEGABYTE
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _exited_within(process: subprocess.Popen, timeout_s: float) -> bool:
    """Wait for the process, waking the moment it exits.

    ``Popen.wait(timeout)`` polls with growing sleeps (up to 50 ms), which added ~50 ms to every
    30-70 ms snippet; a pidfd becomes readable when the process exits (Linux 5.3+).
    """
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:  # no pidfd here (old kernel, seccomp): fall back to polling
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        waiting = select.poll()  # not select.select: that fails on descriptors above 1023
        waiting.register(pidfd, select.POLLIN)
        return bool(waiting.poll(timeout_s * 1000))
    finally:
        os.close(pidfd)


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
    """Run ``code`` as a script in the sandbox and report how it ended.

    Never raises for what the snippet does; raises ``SandboxUnavailable`` before running it
    when the required isolation cannot be set up.
    """
    limits = limits or SandboxLimits()
    isolation = check_isolation(limits)
    with tempfile.TemporaryDirectory(prefix="python_tutor_sandbox_") as scratch:
        host = Path(scratch)
        (host / SNIPPET_FILE).write_text(code, encoding="utf-8")
        if isolation == BUBBLEWRAP:
            workdir, script = SANDBOX_DIR, SANDBOX_SNIPPET
            prefix = bubblewrap_command(limits, str(host / SNIPPET_FILE))
        else:  # the snippet's own folder, so that it cannot touch its logs or its source
            workdir, script, prefix = str(host / "work"), str(host / SNIPPET_FILE), []
            (host / "work").mkdir()
        started = time.monotonic()
        with (
            (host / STDOUT_FILE).open("wb") as out,
            (host / STDERR_FILE).open("wb") as err,
            (host / EVENTS_FILE).open("ab") as events,
        ):
            command = [*prefix, interpreter(), "-I", "-S", "-X", "utf8", "-c", _BOOTSTRAP]
            command += [script, str(events.fileno()), str(BLOCKED_EXIT_CODE)]
            command += [str(limits.max_processes)]
            process = subprocess.Popen(  # noqa: S603 - the point of this module
                command,
                cwd=workdir if isolation == RLIMITS_ONLY else scratch,
                env=_minimal_env(workdir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=lambda: _limit_child(limits),  # noqa: PLW1509 - single-threaded use
                close_fds=True,
                pass_fds=(events.fileno(),),
            )
            timed_out = not _exited_within(process, limits.timeout_s)
            # Even a finished snippet may have left children behind: always clear the group.
            _kill_group(process)
        seconds = time.monotonic() - started
        returncode = process.returncode
        if isolation == BUBBLEWRAP and returncode > 128:  # bwrap exits 128 + N for signal N
            returncode = 128 - returncode
        stderr = _read(host / STDERR_FILE, limits.output_chars)
        logged = _read(host / EVENTS_FILE, limits.output_chars).splitlines()
        status, reason = _classify(returncode, timed_out, logged, stderr, limits)
        return SandboxResult(
            status=status,
            reason=reason,
            returncode=None if timed_out else returncode,
            stdout=_read(host / STDOUT_FILE, limits.output_chars),
            stderr=stderr,
            seconds=round(seconds, 3),
            isolation=isolation,
        )
