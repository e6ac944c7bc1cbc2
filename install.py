#!/usr/bin/env python3
"""Set up Neural Style for GIMP with one command.

    python3 install.py            # engine environment, torch, weights, GIMP plug-in, a sample
    python3 install.py --test     # the same environment plus test tools, then the test suite
    python3 install.py --uninstall

Standard library only, for any Python >= 3.10. Every step checks first whether its work is
already done, so running it again is fast and changes nothing, and a run that was interrupted
is repaired by the next one. GIMP's own Python is never touched: the engine gets a virtual
environment of its own, and the plug-in starts that environment's Python.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import subprocess
import sys
from pathlib import Path

from installer.checks import run_sample, self_check
from installer.common import (
    ENGINE_PYTHON_LINE,
    INSTALL_COMMAND,
    INSTALL_LOCK,
    MIN_PYTHON,
    PLUGIN_NAME,
    REPO,
    EnvState,
    InstallError,
    contract,
    say,
    store_python_refusal,
    venv_python,
)
from installer.environment import (
    ensure_engine,
    ensure_torch,
    ensure_venv,
)
from installer.gimp_folders import (
    default_data_dir,
    find_plugin_dirs,
)
from installer.plugin import (
    _check_owned,
    install_plugin,
    offered_remotes,
    record_remote,
    uninstall,
)
from installer.remote import install_remote, uninstall_remote
from installer.weights import (
    ensure_weights,
)


@contextlib.contextmanager
def install_lock(venv: Path):
    """One install.py at a time for this user: two at once would pip into the same fresh
    environment and break it. The lock lives in the installer's own data folder, never
    beside a --venv of the user's."""
    data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / INSTALL_LOCK, "a+") as handle:
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InstallError(
                f"another install.py is setting up {venv} right now; wait for it to finish."
            ) from None
        yield


def check_paths(venv: Path, plugin_dirs: list[Path], uninstalling: bool) -> None:
    """Paths that cannot work, refused before any step runs."""
    if venv.exists() and not venv.is_dir():
        raise InstallError(f"--venv {venv} is a file, not a folder; choose a folder.")
    for plugin_dir in plugin_dirs:
        if plugin_dir.exists() and not plugin_dir.is_dir():
            raise InstallError(
                f"--gimp-plugins-dir {plugin_dir} is a file, not a folder; give GIMP's "
                "plug-ins folder."
            )
        if not uninstalling:
            _check_owned(plugin_dir / PLUGIN_NAME)


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Install Neural Style for GIMP.")
    parser.add_argument("--venv", type=Path, default=None, help="engine environment folder")
    parser.add_argument(
        "--weights", default="auto", help="auto (default), imagenet, hed, or a .pth file"
    )
    parser.add_argument("--gimp-plugins-dir", type=Path, default=None, help="install exactly here")
    parser.add_argument("--torch-index-url", default=None, help="another index for torch")
    parser.add_argument("--dev", action="store_true", help="editable engine and test tools")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample stylization")
    parser.add_argument("--uninstall", action="store_true")
    parser.add_argument(
        "--test",
        action="store_true",
        help="set up a development environment (like --dev) and run the test suite",
    )
    parser.add_argument(
        "--remote",
        metavar="HOST",
        default=None,
        help="install (or with --uninstall remove) the engine on HOST over ssh instead; "
        "--venv, --weights, --torch-index-url and --no-sample then apply there",
    )
    parser.add_argument(
        "--engine-only", action="store_true", help="no GIMP plug-in (a machine without GIMP)"
    )
    parser.add_argument("pytest_args", nargs="*", help="with --test: passed to pytest")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    if sys.version_info < MIN_PYTHON:
        print("install.py needs Python 3.10 or newer.", file=sys.stderr)
        return 1
    refused = store_python_refusal(sys.executable, sys.prefix)
    if refused:
        print(refused, file=sys.stderr)
        return 1
    args = parse_args(argv)
    if args.remote:
        return _on_remote(args)
    venv = (args.venv or default_data_dir() / "venv").expanduser().absolute()
    plugin_dirs = [args.gimp_plugins_dir] if args.gimp_plugins_dir else find_plugin_dirs()
    if args.engine_only:
        plugin_dirs = []
    try:
        check_paths(venv, plugin_dirs, args.uninstall)
        if args.uninstall:
            uninstall(venv, plugin_dirs)
            return 0
        with install_lock(venv):
            code = _install(args, venv, plugin_dirs)
    except InstallError as error:
        say(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        say("Interrupted; run install.py again to finish.")
        return 130
    if args.test and code == 0:
        # Outside the lock: the tests run install.py themselves.
        say("Running the test suite")
        command = [str(venv_python(venv)), "-m", "pytest", *(args.pytest_args or ["tests"])]
        return subprocess.run(command, cwd=REPO).returncode
    return code


def _on_remote(args: argparse.Namespace) -> int:
    """The engine installed on (or removed from) ``--remote``'s machine by its own copy of
    this installer; the options name that machine's places. The plug-ins here then offer
    that machine in Run on (or no longer do)."""
    venv = ["--venv", str(args.venv)] if args.venv else []
    options = [*venv, *(["--weights", args.weights] if args.weights != "auto" else [])]
    if args.torch_index_url:
        options += ["--torch-index-url", args.torch_index_url]
    options += ["--no-sample"] if args.no_sample else []
    plugin_dirs = [args.gimp_plugins_dir] if args.gimp_plugins_dir else find_plugin_dirs()
    python = f"{args.venv}/bin/python" if args.venv else contract.DEFAULT_REMOTE_PYTHON
    try:
        if args.uninstall:
            uninstall_remote(args.remote, venv)
            for target in record_remote(plugin_dirs, args.remote, None):
                say(f"Run on no longer offers {args.remote} in {target}")
            return 0
        python = install_remote(args.remote, options) or python
        record_remote(plugin_dirs, args.remote, python)
    except InstallError as error:
        say(f"error: {error}")
        return 1
    say(f"Done on {args.remote}. Check it from here (the round trip, its device and speed):")
    remote_python = [] if python == contract.DEFAULT_REMOTE_PYTHON else ["--remote-python", python]
    # This computer's engine is what talks to the remote one (--venv names the remote's).
    here = venv_python(default_data_dir() / "venv")
    engine = shlex.quote(str(here)) if here.is_file() else "python"
    print(f"  {engine} -m styleengine doctor --remote {shlex.join([args.remote, *remote_python])}")
    if args.remote in offered_remotes(plugin_dirs):
        print(f"  In GIMP (restart it if it is open): More options, Run on: {args.remote}")
    else:
        print(f"  No Neural Style plug-in is installed here to offer it: run {INSTALL_COMMAND},")
        print(f"  then {INSTALL_COMMAND} --remote {shlex.quote(args.remote)} again.")
    return 0


def _install(args: argparse.Namespace, venv: Path, plugin_dirs: list[Path]) -> int:
    try:
        dev = args.dev or args.test
        ensure_venv(venv)
        ensure_torch(venv, args.torch_index_url)
        ensure_engine(venv, dev)
        weights = ensure_weights(venv, args.weights)
        python = venv_python(venv)
        if args.test:
            return 0
        device = self_check(python, weights)
        installed = [install_plugin(d, python, weights) for d in plugin_dirs]
        sample = None if args.no_sample else run_sample(python, venv, weights)
    except InstallError as error:
        say(f"error: {error}")
        return 1
    except subprocess.CalledProcessError as error:
        say(f"error: the sample stylization failed (exit code {error.returncode}).")
        return 1
    say("Done.")
    print(f"{ENGINE_PYTHON_LINE}{python}")
    print(f"  device:   {device}")
    print(f"  weights:  {EnvState(venv).get('weights') or weights}")
    if installed:
        for target in installed:
            print(f"  plug-in:  {target}")
        print("  In GIMP 3 (restart it if it is open): Filters > Artistic > Neural Style...")
    elif not args.engine_only:
        print("  plug-in:  no GIMP 3 found; install GIMP 3 and run install.py again,")
        print("            or pass --gimp-plugins-dir DIR.")
    if sample is not None:
        print(f"  sample:   {sample}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
