"""A real OpenSSH server on 127.0.0.1 for the remote-engine tests: Debian's sshd on a free
port, a throwaway host key and user key made for the test, and an ssh_config that names it
``stylebox`` with its host key already known (checked as ssh always checks it)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
HOST_ALIAS = "stylebox"
# What the test's connection passes to the remote session (and sshd accepts): this
# checkout's engine and the shared weights cache.
PASSED_VARIABLES = ("PYTHONPATH", "XDG_CACHE_HOME")


def why_unavailable() -> str | None:
    if not SSHD.is_file() or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "OpenSSH's server and client are not installed (apt install openssh-server)"
    return None


@dataclass
class SshServer:
    folder: Path
    port: int
    process: subprocess.Popen
    config: Path  # the client's ssh_config
    user_key: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


def start(folder: Path, environment: dict[str, str]) -> SshServer:
    """sshd on a free port of 127.0.0.1, as this user, for ``folder``'s keys only."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    host_public = _keygen(folder / "host_key")
    (folder / "authorized_keys").write_text(_keygen(folder / "user_key") + "\n")
    _keygen(folder / "stranger_key")  # a key the server does not know
    port = _free_port()
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_public}\n")
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"AcceptEnv {' '.join(PASSED_VARIABLES)}\nLogLevel ERROR\n"
    )
    passed = " ".join(f"{name}={environment[name]}" for name in PASSED_VARIABLES
                      if environment.get(name))  # fmt: skip
    (folder / "ssh_config").write_text(
        f"Host {HOST_ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n  User {getpass.getuser()}\n"
        f"  IdentityFile {folder / 'user_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking yes\n" + (f"  SetEnv {passed}\n" if passed else "")
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
    with open(folder / "sshd.log", "wb") as log:
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(folder / "sshd_config")],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None:
            raise RuntimeError(f"sshd did not start: {(folder / 'sshd.log').read_text()}")
        time.sleep(0.05)
    return SshServer(folder, port, process, folder / "ssh_config", folder / "user_key")
