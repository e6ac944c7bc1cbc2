"""What Windows, macOS and Linux do differently, each concern in one place.

Standard library only, and no imports from the engine: the GIMP plug-in (in GIMP's own
Python) and the installer load this very file by path, as they load the contract. Every
branch tests ``sys.platform`` itself, the one test a type checker follows
(``mypy --platform win32|darwin``, run in CI), so a name one system lacks is never reached
on it.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time

# Windows API values (processthreadsapi.h, winerror.h, minwinbase.h, winnt.h).
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_ERROR_ACCESS_DENIED = 5
_STILL_ACTIVE = 259


def process_alive(pid: int) -> bool:
    """Whether a process of that number runs. Someone else's counts as alive (its files are
    left alone); a number no process can have is not."""
    if pid <= 0 or pid > 2**31 - 1:
        return False
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # on POSIX, signal 0 only asks
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's
        return True
    return True


def _windows_process_alive(pid: int) -> bool:
    """Windows has no signal 0: os.kill(pid, 0) sends the process a Ctrl-C (or ends it).
    Ask for its exit code instead."""
    if sys.platform != "win32":
        raise OSError("Windows only")
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        # Another user's process exists but may not be opened; no process: another error.
        return ctypes.get_last_error() == _ERROR_ACCESS_DENIED
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: keep its files
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def owned_by_me(info: os.stat_result) -> bool:
    """Whether a file is this user's. Windows' stat has no owner (st_uid is 0): there, a
    file in the user's own folders (where the callers look) is taken as theirs."""
    if sys.platform == "win32":
        return True
    return info.st_uid == os.getuid()


def open_for_reading_untrusted(path: str | os.PathLike[str]) -> int:
    """A descriptor for reading a file found in a shared place: a link is not followed, and
    opening a FIFO does not wait for a writer (where the system has those)."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    if sys.platform != "win32":
        flags |= os.O_NOFOLLOW | os.O_NONBLOCK
    return os.open(path, flags)


def available_memory_bytes() -> int | None:
    """Memory that can be had without swapping, or None where it cannot be told."""
    try:
        if sys.platform == "win32":
            return _windows_available_bytes()
        if sys.platform == "darwin":
            return _macos_available_bytes()
        return _linux_available_bytes()
    except (OSError, ValueError, AttributeError, subprocess.SubprocessError):
        return None


def _linux_available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    if sys.platform == "win32":
        return None
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


class _MemoryStatusEx(ctypes.Structure):
    # MEMORYSTATUSEX (sysinfoapi.h)
    _fields_ = [
        ("dwLength", ctypes.c_ulong),
        ("dwMemoryLoad", ctypes.c_ulong),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def _windows_available_bytes() -> int | None:
    if sys.platform != "win32":
        return None
    status = _MemoryStatusEx()
    status.dwLength = ctypes.sizeof(_MemoryStatusEx)
    if not ctypes.WinDLL("kernel32").GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.ullAvailPhys)


# vm_stat's pages that can be had at once: free, inactive (clean, given back on demand),
# speculative and purgeable.
_MACOS_AVAILABLE_PAGES = ("Pages free", "Pages inactive", "Pages speculative", "Pages purgeable")


def macos_available_from_vm_stat(text: str) -> int | None:
    """The bytes vm_stat's report says can be had (its first line names the page size)."""
    size = re.search(r"page size of (\d+) bytes", text)
    if size is None:
        return None
    counts = dict(re.findall(r"^([A-Za-z ]+?):\s+(\d+)\.?\s*$", text, re.MULTILINE))
    pages = sum(int(counts.get(name, 0)) for name in _MACOS_AVAILABLE_PAGES)
    return pages * int(size.group(1)) if pages else None


def _macos_available_bytes() -> int | None:
    done = subprocess.run(
        ["/usr/bin/vm_stat"], capture_output=True, text=True, timeout=5, check=False
    )
    return macos_available_from_vm_stat(done.stdout) if done.returncode == 0 else None


def write_within(descriptor: int, data: bytes, patience: float) -> bool:
    """Write ``data`` to ``descriptor`` unless the reader leaves it unread for ``patience``
    seconds (a full pipe would block a plain write for good). True when all was written."""
    if sys.platform == "win32":
        # Windows' select takes sockets only, and its pipes cannot be made non-blocking
        # before Python 3.12: a helper thread writes, and is left behind if it must wait.
        written = threading.Event()

        def write_all() -> None:
            try:
                rest = data
                while rest:
                    rest = rest[os.write(descriptor, rest) :]
                written.set()
            except OSError:
                pass

        threading.Thread(target=write_all, name="last-write", daemon=True).start()
        return written.wait(patience)
    import select

    os.set_blocking(descriptor, False)
    deadline = time.monotonic() + patience
    while data:
        try:
            data = data[os.write(descriptor, data) :]
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [descriptor], [], left)[1]:
                return False
    os.set_blocking(descriptor, True)
    return True


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that ask this process to stop, as this system has them: a terminal's
    hang-up where there is one, and Windows' Ctrl-Break."""
    if sys.platform == "win32":
        return (signal.SIGTERM, signal.SIGINT, signal.SIGBREAK)
    return (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


# The command that runs the installer, as this system's users type it: Windows' python.org
# installer puts the "py" launcher on the PATH, and "python3" there opens the Microsoft Store.
PYTHON_COMMAND = "py" if sys.platform == "win32" else "python3"
INSTALL_COMMAND = f"{PYTHON_COMMAND} install.py"
