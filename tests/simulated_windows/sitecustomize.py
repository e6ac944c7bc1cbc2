"""A Python that behaves, where this project can tell, as Windows' Python does: started with
this folder first on PYTHONPATH, the interpreter imports this file at start-up.

- ``sys.platform`` is "win32", so every ``sys.platform`` branch takes its Windows side;
- the names Windows' standard library lacks are removed (``os.getuid``, ``os.O_NONBLOCK``,
  ``os.set_blocking`` before 3.12, ``os.sysconf``, ``signal.SIGHUP``, ``fcntl``, ...);
- ``os.kill(pid, 0)`` is no test of a process: on Windows 0 is CTRL_C_EVENT, a Ctrl-C
  sent to the process (here: SIGINT), and any other number ends it (here: SIGKILL);
- ``select.select`` takes sockets only (WinError 10038 for a pipe);
- ``ctypes.WinDLL("kernel32")`` answers OpenProcess, GetExitCodeProcess, CloseHandle and
  GlobalMemoryStatusEx from this machine's /proc, as Windows would for the same processes.

It is a simulation, not Windows: what it cannot reach (Windows' file locking, its console,
its DLL search) the README says was never run for real. The modules that choose their
implementation when imported (subprocess, pathlib, tempfile, torch...) are imported first,
on the real system, so that they keep working underneath.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import stat
import sys

for _name in (
    "subprocess", "tempfile", "shutil", "pathlib", "platform", "selectors", "threading",
    "concurrent.futures", "multiprocessing", "asyncio", "uuid", "email.utils", "http.client",
    "numpy", "PIL.Image", "torch", "h5py", "tifffile", "imagecodecs", "onnxruntime",
    "hypothesis", "pytest", "_pytest.pytester",
):  # fmt: skip
    # Absent or broken here: no matter for the simulation.
    with contextlib.suppress(Exception):
        __import__(_name)

sys.platform = "win32"

# Windows' Popen takes creationflags (CREATE_NO_WINDOW for a console program started from a
# GUI one); here there is no console to keep closed.
import subprocess  # noqa: E402

_real_popen_init = subprocess.Popen.__init__


def _windows_popen_init(self, *args, creationflags=0, **kwargs):
    _real_popen_init(self, *args, **kwargs)


subprocess.Popen.__init__ = _windows_popen_init  # type: ignore[method-assign]

_OS_MISSING = (
    "getuid", "geteuid", "getgid", "getegid", "getgroups", "getpgid", "getpgrp", "setsid",
    "setpgid", "killpg", "fork", "forkpty", "wait", "wait3", "wait4", "waitid", "mkfifo",
    "mknod", "chown", "lchown", "fchown", "fchmod", "getloadavg", "sysconf", "sysconf_names",
    "pathconf", "fpathconf", "statvfs", "fstatvfs", "sync", "nice", "O_NONBLOCK",
    "O_NOFOLLOW", "O_CLOEXEC", "O_DIRECTORY", "O_NOCTTY", "O_SYNC", "O_DSYNC", "O_ASYNC",
    "WNOHANG", "sched_getaffinity", "sched_setaffinity", "posix_spawn", "pipe2", "openpty",
    "ttyname", "ctermid", "getsid", "setuid", "seteuid", "setgid", "setegid",
)  # fmt: skip
if sys.version_info < (3, 12):
    _OS_MISSING += ("set_blocking", "get_blocking")
_SIGNAL_MISSING = (
    "SIGHUP", "SIGKILL", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGWINCH", "SIGBUS", "SIGTRAP",
    "alarm", "pause", "setitimer", "getitimer", "pthread_kill", "pthread_sigmask",
    "siginterrupt", "sigwait", "sigpending", "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK",
)  # fmt: skip
_real_kill = os.kill
_real_select = None

for _name in _OS_MISSING:
    if hasattr(os, _name):
        delattr(os, _name)
for _name in _SIGNAL_MISSING:
    if hasattr(signal, _name):
        delattr(signal, _name)
signal.CTRL_C_EVENT = 0  # type: ignore[attr-defined]
signal.CTRL_BREAK_EVENT = 1  # type: ignore[attr-defined]
signal.SIGBREAK = 21  # type: ignore[attr-defined]  # Linux's 21 (SIGTTIN) stands in
for _name in ("fcntl", "pwd", "grp", "termios", "resource", "posix", "pty", "tty"):
    sys.modules[_name] = None  # type: ignore[assignment]  # import fails, as on Windows


def _windows_kill(pid: int, sig: int) -> None:
    """os.kill as Windows has it: 0 (CTRL_C_EVENT) and 1 (CTRL_BREAK_EVENT) reach the
    process as a console event; any other value ends it (TerminateProcess)."""
    if sig in (0, 1):
        _real_kill(pid, signal.SIGINT)
    else:
        _real_kill(pid, 9)


os.kill = _windows_kill


def _windows_select(rlist, wlist, xlist, timeout=None):
    for item in (*rlist, *wlist, *xlist):
        descriptor = item if isinstance(item, int) else item.fileno()
        if not stat.S_ISSOCK(os.fstat(descriptor).st_mode):
            raise OSError(
                errno.ENOTSOCK, "An operation was attempted on something that is not a socket"
            )
    return _real_select(rlist, wlist, xlist, timeout)


import select  # noqa: E402

_real_select = select.select
select.select = _windows_select
del socket

# ctypes: the Windows-only names, and kernel32 as this machine's /proc tells it.
_last_error = 0


def _get_last_error() -> int:
    return _last_error


def _set_last_error(value: int) -> int:
    global _last_error
    old, _last_error = _last_error, value
    return old


class _Kernel32:
    _ERROR_ACCESS_DENIED = 5
    _ERROR_INVALID_PARAMETER = 87
    _STILL_ACTIVE = 259

    def __init__(self) -> None:
        self._handles: dict[int, int] = {}
        self._next = 1000

    def OpenProcess(self, access, inherit, pid):  # noqa: N802 (the Windows API's names)
        state = _process_state(int(pid))
        if state is None:
            _set_last_error(self._ERROR_INVALID_PARAMETER)
            return 0
        self._next += 4
        self._handles[self._next] = int(pid)
        return self._next

    def GetExitCodeProcess(self, handle, code_pointer):  # noqa: N802
        pid = self._handles[handle]
        state = _process_state(pid)
        code_pointer._obj.value = self._STILL_ACTIVE if state not in (None, "Z") else 0
        return 1

    def CloseHandle(self, handle):  # noqa: N802
        return 1 if self._handles.pop(handle, None) is not None else 0

    def GetLastError(self):  # noqa: N802
        return _last_error

    def GlobalMemoryStatusEx(self, status_pointer):  # noqa: N802
        status = status_pointer._obj
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in meminfo}
        status.ullTotalPhys = fields["MemTotal"]
        status.ullAvailPhys = fields["MemAvailable"]
        return 1


def _process_state(pid: int) -> str | None:
    """The process's state letter from /proc (Z: ended, not yet reaped), None: no process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rpartition(")")[2].split()[0]
    except OSError:
        return None


_KERNEL32 = _Kernel32()


def _win_dll(name: str, *args, **kwargs):
    if name.lower() not in ("kernel32", "kernel32.dll"):
        raise OSError(f"[WinError 126] The specified module could not be found: {name}")
    return _KERNEL32


ctypes.WinDLL = _win_dll  # type: ignore[attr-defined]
ctypes.get_last_error = _get_last_error  # type: ignore[attr-defined]
ctypes.set_last_error = _set_last_error  # type: ignore[attr-defined]
