"""The installer where Windows and macOS users are: their Python, their GIMP's folders, the
commands they type, an Intel Mac's PyTorch. Each system's paths are laid out in a temporary
folder and the installer's discovery is asked as that system's would be."""

from __future__ import annotations

import plistlib
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from installer import common, environment, gimp_folders

STORE_PYTHON = (
    r"C:\Users\ada\AppData\Local\Microsoft\WindowsApps"
    r"\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0\python.exe"
)


@pytest.fixture
def no_gimp_on_path(monkeypatch):
    """GIMP's Windows and macOS installers put nothing on the PATH."""
    monkeypatch.setattr(gimp_folders.shutil, "which", lambda name: None)


def _windows_gimp(root: Path, series: str) -> None:
    (root / "GIMP 3" / "bin").mkdir(parents=True)
    (root / "GIMP 3" / "bin" / f"gimp-{series}.exe").write_bytes(b"MZ")


@pytest.mark.parametrize("where", ["per machine", "per user"])
@pytest.mark.parametrize("series", ["3.0", "3.2"])
def test_a_windows_gimp_is_found_where_its_installer_put_it(
    tmp_path, no_gimp_on_path, where, series
):
    environ = {
        "USERPROFILE": str(tmp_path / "ada"),
        "APPDATA": str(tmp_path / "ada" / "AppData" / "Roaming"),
        "LOCALAPPDATA": str(tmp_path / "ada" / "AppData" / "Local"),
        "PROGRAMFILES": str(tmp_path / "Program Files"),
    }
    root = Path(environ["PROGRAMFILES"] if where == "per machine" else environ["LOCALAPPDATA"])
    _windows_gimp(root if where == "per machine" else root / "Programs", series)
    assert gimp_folders.detect_gimp3(environ, "Windows") == series
    # Never started yet: its config folder is proposed for the version installed.
    assert gimp_folders.find_plugin_dirs(environ, "Windows") == [
        Path(environ["APPDATA"]) / "GIMP" / series / "plug-ins"
    ]


def test_a_mac_gimp_in_the_users_applications_is_found_with_its_series(tmp_path, no_gimp_on_path):
    app = tmp_path / "Applications" / "GIMP.app" / "Contents"
    app.mkdir(parents=True)
    with open(app / "Info.plist", "wb") as handle:
        plistlib.dump({"CFBundleShortVersionString": "3.2.6"}, handle)
    environ = {"HOME": str(tmp_path)}
    assert gimp_folders.detect_gimp3(environ, "Darwin") == "3.2"
    assert gimp_folders.find_plugin_dirs(environ, "Darwin") == [
        tmp_path / "Library" / "Application Support" / "GIMP" / "3.2" / "plug-ins"
    ]


def test_no_gimp_is_no_gimp_on_either_system(tmp_path, no_gimp_on_path):
    (tmp_path / "Program Files" / "GIMP 2" / "bin").mkdir(parents=True)  # GIMP 2 only
    environ = {"USERPROFILE": str(tmp_path), "PROGRAMFILES": str(tmp_path / "Program Files"),
               "LOCALAPPDATA": str(tmp_path / "Local"), "HOME": str(tmp_path)}  # fmt: skip
    assert gimp_folders.detect_gimp3(environ, "Windows") is None
    assert gimp_folders.find_plugin_dirs(environ, "Windows", gimp3_installed=None) == []


def test_the_environments_python_is_where_windows_venv_puts_it(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    assert common.venv_python(Path("env")) == Path("env") / "Scripts" / "python.exe"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert common.venv_python(Path("env")) == Path("env") / "bin" / "python"


def test_the_stores_python_is_refused_with_what_to_install_instead(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    refused = common.store_python_refusal(STORE_PYTHON, str(Path(STORE_PYTHON).parent))
    assert refused is not None and "python.org" in refused and "Store" in refused
    python_org = r"C:\Users\ada\AppData\Local\Programs\Python\Python312\python.exe"
    assert common.store_python_refusal(python_org, str(Path(python_org).parent)) is None


def test_install_py_says_no_before_doing_anything_in_the_stores_python(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", STORE_PYTHON)
    import install

    assert install.main(["--venv", str(tmp_path / "env")]) == 1
    assert not (tmp_path / "env").exists()


def _simulated_windows(code: str) -> str:
    env = {"PYTHONPATH": str(REPO / "tests" / "simulated_windows"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=REPO, check=True)  # fmt: skip
    return done.stdout.strip()


def test_the_commands_said_to_windows_users_are_the_ones_they_type():
    """python3 opens the Microsoft Store on Windows: the py launcher is what they have."""
    said = _simulated_windows(
        "import sys; sys.path[:0] = ['gimp_plugin/neural_style', '.']\n"
        "import engine_contract, engine_link\n"
        "from installer import common\n"
        "print(engine_contract.INSTALL_HINT); print(engine_link.RUN_ON_HELP)\n"
        "print(common.INSTALL_COMMAND, common.venv_python(common.Path('env')))"
    )
    assert "'py install.py'" in said and "py install.py --remote HOST" in said
    assert "python3" not in said and "Scripts/python.exe" in said


@pytest.mark.parametrize(
    "system, machine, pinned",
    [("Darwin", "x86_64", True), ("Darwin", "arm64", False), ("Linux", "x86_64", False),
     ("Windows", "AMD64", False)],
)  # fmt: skip
def test_an_intel_macs_pytorch_comes_with_a_numpy_it_works_with(system, machine, pinned):
    wanted = environment.torch_requirements(system, machine)
    assert wanted[:2] == ["torch", "torchvision"]
    assert ("numpy<2" in wanted) == pinned


def test_the_install_check_fails_a_torch_that_cannot_take_numpys_arrays(tmp_path):
    """A torch built against NumPy 1 under NumPy 2 imports and runs a network, and fails at
    the first array: the check hands one over both ways."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sitecustomize.py").write_text(
        "import torch\n"
        "def from_numpy(array):\n"
        "    raise RuntimeError('Numpy is not available')\n"
        "torch.from_numpy = from_numpy\n"
    )
    env = {"PYTHONPATH": str(broken), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", environment.VERIFY_TORCH], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode != 0 and "Numpy is not available" in done.stderr
    healthy = subprocess.run([sys.executable, "-c", environment.VERIFY_TORCH],
                             capture_output=True, text=True)  # fmt: skip
    assert healthy.returncode == 0, healthy.stderr


MAC_PYTHON = "/Users/ada/Library/Application Support/gimp-neural-style/venv/bin/python"


def _fake_ssh(folder: Path, uname: str, uname_code: int = 0) -> Path:
    """An ssh that answers as a machine of another system would: `uname -s` as given, and
    the installer's command by reading what is sent and naming its engine's Python."""
    script = folder / "ssh"
    script.write_text(
        "#!/bin/sh\n"
        'for last in "$@"; do :; done\n'
        'if [ "$last" = "uname -s" ]; then\n'
        f"  printf '%s\\n' '{uname}'; exit {uname_code}\n"
        "fi\n"
        "cat > /dev/null\n"
        "echo '[neural-style] Done.'\n"
        f"echo '{common.ENGINE_PYTHON_LINE}{MAC_PYTHON}'\n"
    )
    script.chmod(0o755)
    return folder


def test_a_macs_engine_is_recorded_where_its_own_installer_put_it(tmp_path, monkeypatch):
    from installer import remote

    monkeypatch.setenv("PATH", f"{_fake_ssh(tmp_path, 'Darwin')}:/usr/bin:/bin")
    assert remote.install_remote("mac", ["--no-sample"]) == MAC_PYTHON


def test_a_windows_remote_is_refused_in_one_line_before_anything_is_sent(tmp_path, monkeypatch):
    from installer import remote

    said = "'uname' is not recognized as an internal or external command"
    monkeypatch.setenv("PATH", f"{_fake_ssh(tmp_path, said, 1)}:/usr/bin:/bin")
    with pytest.raises(common.InstallError, match="Windows machine") as refused:
        remote.install_remote("winbox", [])
    assert "\n" not in str(refused.value)
