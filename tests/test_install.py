"""install.py and its steps (installer/): folder detection, config, idempotence and uninstall,
then a real install."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, save_pair

spec = importlib.util.spec_from_file_location("install", REPO / "install.py")
install = importlib.util.module_from_spec(spec)
sys.modules["install"] = install  # dataclasses look their module up there
spec.loader.exec_module(install)
from installer import checks, common, environment, gimp_folders, plugin  # noqa: E402


@pytest.mark.parametrize(
    "system, environ, expected",
    [
        ("Linux", {"HOME": "/h"}, "/h/.local/share/gimp-neural-style"),
        ("Linux", {"HOME": "/h", "XDG_DATA_HOME": "/x"}, "/x/gimp-neural-style"),
        ("Darwin", {"HOME": "/h"}, "/h/Library/Application Support/gimp-neural-style"),
        ("Windows", {"USERPROFILE": "/u", "LOCALAPPDATA": "/l"}, "/l/gimp-neural-style"),
    ],
)
def test_default_data_dir_per_os(system, environ, expected):
    assert gimp_folders.default_data_dir(environ, system) == Path(expected)


def test_finds_every_gimp3_plugins_folder(tmp_path):
    for folder in (".config/GIMP/3.0", ".config/GIMP/3.2", ".config/GIMP/2.10",
                   ".var/app/org.gimp.GIMP/config/GIMP/3.0"):  # fmt: skip
        (tmp_path / folder).mkdir(parents=True)
    found = gimp_folders.find_plugin_dirs({"HOME": str(tmp_path)}, "Linux", gimp3_installed=False)
    assert found == [
        tmp_path / ".config/GIMP/3.0/plug-ins",
        tmp_path / ".config/GIMP/3.2/plug-ins",
        tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins",
    ]


def test_windows_and_macos_folders(tmp_path):
    (tmp_path / "Roaming/GIMP/3.0").mkdir(parents=True)
    windows = {"USERPROFILE": str(tmp_path), "APPDATA": str(tmp_path / "Roaming")}
    assert gimp_folders.find_plugin_dirs(windows, "Windows", False) == [
        tmp_path / "Roaming/GIMP/3.0/plug-ins"
    ]
    (tmp_path / "Library/Application Support/GIMP/3.0").mkdir(parents=True)
    assert gimp_folders.find_plugin_dirs({"HOME": str(tmp_path)}, "Darwin", False) == [
        tmp_path / "Library/Application Support/GIMP/3.0/plug-ins"
    ]


def test_gimp3_never_started_gets_the_folder_of_its_version(tmp_path):
    environ = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert gimp_folders.find_plugin_dirs(environ, "Linux", gimp3_installed=True) == [
        tmp_path / "cfg/GIMP/3.0/plug-ins"
    ]
    # GIMP 3.2 reads GIMP/3.2/plug-ins only: a 3.0 folder would never be seen.
    assert gimp_folders.find_plugin_dirs(environ, "Linux", gimp3_installed="3.2") == [
        tmp_path / "cfg/GIMP/3.2/plug-ins"
    ]
    assert gimp_folders.find_plugin_dirs(environ, "Linux", gimp3_installed=False) == []


@pytest.mark.parametrize(
    ("said", "version"),
    [
        ("GNU Image Manipulation Program version 3.0.4\n", "3.0"),
        ("GNU Image Manipulation Program version 3.2.0\n", "3.2"),
        ("GNU Image Manipulation Program version 2.10.34\n", None),
        ("", None),
    ],
)
def test_gimp_version_names_its_config_folder(said, version):
    assert gimp_folders.parse_gimp_version(said) == version


def test_plugin_copy_is_executable_and_idempotent(tmp_path):
    python = Path(sys.executable)
    target = plugin.install_plugin(tmp_path / "plug-ins", python, "hed")
    main = target / "neural_style.py"
    assert os.access(main, os.X_OK)
    config = json.loads((target / "neural_style.json").read_text())
    assert config == {"python": str(python), "weights": "hed"}
    stamps = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    plugin.install_plugin(tmp_path / "plug-ins", python, "hed")
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == stamps


def test_the_installed_plugin_loads_the_engines_contract_beside_it(tmp_path):
    """Both sides see one contract: the installed plug-in, in a Python with the standard
    library only, loads the copy install.py put beside it, which is the engine's file."""
    target = plugin.install_plugin(tmp_path / "plug-ins", Path(sys.executable), "hed")
    copy = target / common.PLUGIN_CONTRACT
    engines = REPO / "styleengine" / "contract"
    modules = sorted(path.name for path in engines.glob("*.py"))
    assert sorted(path.name for path in copy.glob("*.py")) == modules
    for name in modules:
        assert (copy / name).read_bytes() == (engines / name).read_bytes()
    gallery = REPO / "styleengine" / "image" / "paintings" / "gallery.json"
    assert (copy / "gallery.json").read_bytes() == gallery.read_bytes()
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import engine_link; "
        "print(engine_link.contract.__file__); "
        "print(','.join(o.flag for o in engine_link.contract.OPTIONS))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(target)],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    loaded, flags = done.stdout.splitlines()
    assert Path(loaded) == copy / "__init__.py"
    from styleengine.contract import OPTIONS

    assert flags == ",".join(option.flag for option in OPTIONS)


def test_an_older_installs_one_file_contract_goes_when_the_package_comes(tmp_path):
    """Before the contract was a package, install.py put styleengine_contract.py beside the
    plug-in; installing again removes it (its marker names it) and uninstalling leaves
    nothing of ours."""
    plugins = tmp_path / "plug-ins"
    target = plugin.install_plugin(plugins, Path(sys.executable), "hed")
    marker = json.loads((target / common.PLUGIN_MARKER).read_text())
    marker["files"].append("styleengine_contract.py")
    (target / common.PLUGIN_MARKER).write_text(json.dumps(marker))
    (target / "styleengine_contract.py").write_text("# the older install's contract\n")
    plugin.install_plugin(plugins, Path(sys.executable), "hed")
    assert not (target / "styleengine_contract.py").exists()
    assert (target / common.PLUGIN_CONTRACT / "__init__.py").is_file()
    (target / "theirs.txt").write_text("a file of the user's")
    plugin.uninstall(tmp_path / "no-venv", [plugins])
    assert sorted(p.name for p in target.iterdir()) == ["theirs.txt"]


def test_a_remote_is_recorded_for_run_on_kept_through_installs_and_forgotten(tmp_path):
    """install.py --remote's record in the plug-in's config: what Run on offers. GIMP is
    made to ask the plug-in again (its file's time moves on); a new install keeps it."""
    plugins = tmp_path / "plug-ins"
    target = plugin.install_plugin(plugins, Path(sys.executable), "hed")
    main = target / "neural_style.py"
    before = main.stat().st_mtime

    def offered() -> dict[str, str]:
        config = json.loads((target / "neural_style.json").read_text())
        return common.contract.recorded_remotes(config)

    assert plugin.record_remote([plugins], "gpu-box", "venv/bin/python") == [target]
    assert plugin.record_remote([plugins], "me@lab:2222", ".local/x/python") == [target]
    assert offered() == {"gpu-box": "venv/bin/python", "me@lab:2222": ".local/x/python"}
    assert main.stat().st_mtime > before
    assert plugin.record_remote([plugins], "gpu-box", "venv/bin/python") == []  # unchanged
    plugin.install_plugin(plugins, Path(sys.executable), "auto")
    assert offered() == {"gpu-box": "venv/bin/python", "me@lab:2222": ".local/x/python"}
    assert plugin.offered_remotes([plugins]) == {"gpu-box", "me@lab:2222"}
    assert plugin.record_remote([plugins], "gpu-box", None) == [target]
    assert offered() == {"me@lab:2222": ".local/x/python"}
    # Nowhere to record: no plug-in there, or another author's plug-in of the same name.
    assert plugin.record_remote([tmp_path / "empty"], "gpu-box", "p") == []
    theirs = _someone_elses_plugin(tmp_path / "theirs")
    files = _contents(theirs)
    assert plugin.record_remote([tmp_path / "theirs"], "gpu-box", "p") == []
    assert _contents(theirs) == files


def test_uninstall_removes_only_what_it_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    plugins = tmp_path / "plug-ins"
    plugin.install_plugin(plugins, Path(sys.executable), "auto")
    (plugins / "someone_elses_plugin").mkdir()
    venv = gimp_folders.default_data_dir() / "venv"
    venv.mkdir(parents=True)
    (venv / common.VENV_MARKER).write_text("{}")
    stranger = tmp_path / "other-venv"
    stranger.mkdir()
    plugin.uninstall(venv, [plugins])
    assert sorted(p.name for p in plugins.iterdir()) == ["someone_elses_plugin"]
    assert not venv.exists() and not gimp_folders.default_data_dir().exists()
    plugin.uninstall(stranger, [plugins])  # not made by the installer: kept
    assert stranger.exists()


def test_uninstall_of_a_venv_in_home_keeps_the_folders_beside_it(tmp_path):
    """--venv ~/nsenv: the user's ~/sample and ~ itself are not the installer's."""
    home = tmp_path / "home"
    venv = home / "nsenv"
    venv.mkdir(parents=True)
    (venv / common.VENV_MARKER).write_text("{}")
    (checks.sample_dir(venv)).mkdir()
    (home / "sample").mkdir()
    (home / "sample" / "holiday.jpg").write_bytes(b"mine")
    plugin.uninstall(venv, [])
    assert not venv.exists()
    assert (home / "sample" / "holiday.jpg").read_bytes() == b"mine"


def test_refuses_to_replace_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(common.InstallError, match="not made by this installer"):
        environment.ensure_venv(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_torch_is_installed_from_the_index_together_ignoring_local_wheels():
    command = environment.torch_install_command(Path("py"), None)
    assert "--isolated" in command and command[-2:] == ["torch", "torchvision"]
    command = environment.torch_install_command(Path("py"), "https://example.invalid/cpu")
    assert command[-2:] == ["--index-url", "https://example.invalid/cpu"]


SMI_WITH_CUDA_12_4 = """
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.14              Driver Version: 550.54.14      CUDA Version: 12.4     |
"""
SMI_WITH_CUDA_11_4 = SMI_WITH_CUDA_12_4.replace("12.4", "11.4")


@pytest.mark.parametrize(
    "system, smi, override, index, words",
    [
        ("Linux", None, None, "https://download.pytorch.org/whl/cpu", "CPU-only"),
        ("Linux", SMI_WITH_CUDA_12_4, None, None, "registry's build, which is CUDA's"),
        ("Windows", SMI_WITH_CUDA_12_4, None, "https://download.pytorch.org/whl/cu124",
         "CUDA 12.4"),
        ("Windows", SMI_WITH_CUDA_11_4, None, "https://download.pytorch.org/whl/cu118",
         "cu118"),
        ("Windows", None, None, None, "registry"),
        ("Darwin", None, None, None, "MPS"),
        ("Linux", None, "https://mirror.example/torch", "https://mirror.example/torch",
         "as asked"),
    ],
)  # fmt: skip
def test_the_build_is_chosen_from_the_machine(system, smi, override, index, words):
    choice = environment.choose_torch_build(system, smi, override)
    assert choice.index_url == index
    assert words in choice.reason


def test_an_index_where_nothing_listens_is_given_up_on_within_seconds():
    started = time.monotonic()
    assert not environment.index_reachable("http://127.0.0.1:9/simple")
    assert not environment.index_reachable("http://name.invalid/simple", timeout=1.0)
    assert time.monotonic() - started < 2 * environment.PROBE_SECONDS


UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"


def _install(*arguments: str) -> subprocess.CompletedProcess:
    # input="": stdin is a pipe closed at once, as in `echo | python3 install.py`; the
    # sample stylization must not take that for a cancel.
    return subprocess.run(
        [sys.executable, str(REPO / "install.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=1800,
        input="",
    )


@pytest.fixture(scope="module")
def real_install(tmp_path_factory, hed_weights):
    """One real install into a fresh environment (torch comes from pip's cache)."""
    base = tmp_path_factory.mktemp("real-install")
    venv, plugins = base / "data" / "venv", base / "plug-ins"
    # PyTorch's index on the loopback address where nothing listens: the installer must
    # say so in one line and install the registry's build at once.
    first = _install("--venv", str(venv), "--gimp-plugins-dir", str(plugins), "--weights", "hed",
                     "--torch-index-url", UNREACHABLE_INDEX)  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    return venv, plugins, first


def test_real_install_gives_plugin_config_engine_and_sample(real_install):
    venv, plugins, first = real_install
    main = plugins / "neural_style" / "neural_style.py"
    assert main.is_file() and os.access(main, os.X_OK)
    config = json.loads((plugins / "neural_style" / "neural_style.json").read_text())
    doctor = subprocess.run(
        [config["python"], "-m", "styleengine", "doctor", "--weights", config["weights"]],
        capture_output=True,
        text=True,
        cwd=venv.parent,  # not the checkout: the installed engine must run on its own
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    # The gallery's paintings are installed with the engine, not read from the checkout.
    painting = venv.parent / "wave.png"
    shown = subprocess.run(
        [config["python"], "-m", "styleengine", "gallery", "hokusai_great_wave", "-o", painting],
        capture_output=True, text=True, cwd=venv.parent,
    )  # fmt: skip
    assert shown.returncode == 0 and painting.is_file(), shown.stderr
    assert str(REPO) not in subprocess.run(
        [config["python"], "-m", "styleengine", "gallery", "--json"],
        capture_output=True, text=True, cwd=venv.parent,
    ).stdout  # fmt: skip
    notices = [line for line in first.stdout.splitlines() if "cannot be reached" in line]
    assert len(notices) == 1 and UNREACHABLE_INDEX in notices[0], first.stdout
    assert "registry" in notices[0]
    sample = checks.sample_dir(venv) / "sample_result.png"
    assert f"sample:   {sample}" in first.stdout and sample.is_file()


def test_second_run_changes_nothing(real_install):
    venv, plugins, _first = real_install
    stamps = {p: p.stat().st_mtime_ns for p in (plugins / "neural_style").iterdir()}
    marker = (venv / common.VENV_MARKER).read_text()
    again = _install("--venv", str(venv), "--gimp-plugins-dir", str(plugins), "--weights",
                     "hed", "--no-sample")  # fmt: skip
    assert again.returncode == 0, again.stdout
    assert "Installing" not in again.stdout and "Creating" not in again.stdout
    assert {p: p.stat().st_mtime_ns for p in (plugins / "neural_style").iterdir()} == stamps
    assert (venv / common.VENV_MARKER).read_text() == marker


def test_broken_environment_is_repaired(real_install):
    venv, plugins, _first = real_install
    # An interrupted torch install: the package is gone, the state file still says "done".
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "torchvision" / "__init__.py").unlink()
    repaired = _install("--venv", str(venv), "--gimp-plugins-dir", str(plugins), "--weights",
                        "hed", "--no-sample")  # fmt: skip
    assert repaired.returncode == 0, repaired.stdout
    assert "Installing PyTorch" in repaired.stdout
    assert common.python_works(common.venv_python(venv), environment.VERIFY_TORCH)


def test_uninstall_for_real(real_install):
    venv, plugins, _first = real_install
    done = _install("--venv", str(venv), "--gimp-plugins-dir", str(plugins), "--uninstall")
    assert done.returncode == 0
    assert not venv.exists() and not (plugins / "neural_style").exists()


def _someone_elses_plugin(plugins: Path) -> Path:
    theirs = plugins / "neural_style"
    theirs.mkdir(parents=True)
    (theirs / "neural_style.py").write_text("# another author's plug-in of the same name\n")
    (theirs / "model.bin").write_bytes(b"their model")
    (theirs / "settings.json").write_text("{}")
    return theirs


def _contents(folder: Path) -> dict[str, bytes | None]:
    """Every entry by name, a file with its bytes (a folder such as the __pycache__ that
    importing engine_link from the source leaves, by its name only)."""
    return {p.name: p.read_bytes() if p.is_file() else None for p in folder.iterdir()}


def test_never_writes_into_or_removes_another_plugin_of_the_same_name(tmp_path):
    theirs = _someone_elses_plugin(tmp_path / "plug-ins")
    before = _contents(theirs)
    with pytest.raises(common.InstallError, match="did not put there"):
        plugin.install_plugin(tmp_path / "plug-ins", Path(sys.executable), "hed")
    plugin.uninstall(tmp_path / "no-venv", [tmp_path / "plug-ins"])
    assert _contents(theirs) == before


def test_uninstall_keeps_files_a_user_added_to_the_installed_plugin(tmp_path):
    target = plugin.install_plugin(tmp_path / "plug-ins", Path(sys.executable), "hed")
    (target / "my-notes.txt").write_text("mine")
    plugin.uninstall(tmp_path / "no-venv", [tmp_path / "plug-ins"])
    assert [p.name for p in target.iterdir()] == ["my-notes.txt"]


def test_an_install_from_before_the_marker_is_upgraded_and_removed(tmp_path):
    target = tmp_path / "plug-ins" / "neural_style"
    target.mkdir(parents=True)
    for source in common.PLUGIN_SOURCE.glob("*.py"):
        (target / source.name).write_text("# an older version\n")
    (target / "neural_style.json").write_text('{"python": "/old/python", "weights": "hed"}')
    plugin.install_plugin(tmp_path / "plug-ins", Path(sys.executable), "hed")
    assert (target / common.PLUGIN_MARKER).is_file()
    plugin.uninstall(tmp_path / "no-venv", [tmp_path / "plug-ins"])
    assert not target.exists()


def test_the_repositorys_own_plugin_source_is_never_a_target():
    before = _contents(common.PLUGIN_SOURCE)
    with pytest.raises(common.InstallError, match="plug-in source"):
        plugin.install_plugin(common.PLUGIN_SOURCE.parent, Path(sys.executable), "hed")
    plugin.uninstall(Path("/nonexistent-venv"), [common.PLUGIN_SOURCE.parent])
    assert _contents(common.PLUGIN_SOURCE) == before


@pytest.mark.parametrize("option", ["--venv", "--gimp-plugins-dir"])
def test_a_file_where_a_folder_belongs_is_refused_before_any_step(tmp_path, option):
    a_file = tmp_path / "a-file"
    a_file.write_text("the user's")
    done = _install(option, str(a_file), "--no-sample")
    assert done.returncode == 1 and "is a file, not a folder" in done.stdout, done.stdout
    assert "Creating" not in done.stdout and "Traceback" not in done.stdout + done.stderr
    assert a_file.read_text() == "the user's"


def test_a_second_install_at_the_same_time_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with install.install_lock(tmp_path / "venv"):
        second = subprocess.run(
            [sys.executable, str(REPO / "install.py"), "--venv", str(tmp_path / "venv")],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
        )  # fmt: skip
    assert second.returncode == 1 and "another install.py" in second.stdout, second.stdout
    assert not (tmp_path / "venv").exists()


def test_the_engine_is_installed_on_a_remote_over_ssh_and_removed_again(
    real_install, tmp_path, monkeypatch
):
    """install.py --remote against a real OpenSSH server on 127.0.0.1 (tests/ssh_server.py):
    the source goes over ssh, that machine's own installer sets the engine up (here in the
    real install's environment, so that no second PyTorch is downloaded), and a run then
    works through it; --uninstall --remote removes what it made there."""
    import ssh_server

    from installer.remote import REMOTE_SOURCE, SOURCE_MARKER

    reason = ssh_server.why_unavailable()
    if reason and os.environ.get("CI"):
        pytest.fail(f"{reason}; in CI the remote tests must run")
    if reason:
        pytest.skip(reason)
    venv, _plugins, _first = real_install
    passed = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed engine
    server = ssh_server.start(tmp_path / "sshd", passed)
    monkeypatch.setenv(common.contract.SSH_CONFIG_VARIABLE, str(server.config))
    source = Path.home() / REMOTE_SOURCE  # ssh starts remote commands in the user's home
    host = ssh_server.HOST_ALIAS
    try:
        # This computer's plug-in, whose Run on is to offer the remote.
        here = plugin.install_plugin(tmp_path / "plug-ins", Path(sys.executable), "hed")
        done = _install("--remote", host, "--venv", str(venv), "--weights", "hed",
                        "--torch-index-url", UNREACHABLE_INDEX, "--no-sample",
                        "--gimp-plugins-dir", str(tmp_path / "plug-ins"))  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Installing the engine on {host} over ssh" in done.stdout
        assert f"doctor --remote {host} --remote-python {venv}/bin/python" in done.stdout
        assert f"Run on: {host}" in done.stdout
        recorded = json.loads((here / "neural_style.json").read_text())
        assert common.contract.recorded_remotes(recorded) == {host: f"{venv}/bin/python"}
        assert (source / "install.py").is_file() and (source / "styleengine").is_dir()
        content, style = save_pair(tmp_path, (48, 64), 64)
        output = tmp_path / "out.png"
        run = subprocess.run(
            [sys.executable, "-m", "styleengine", "stylize", str(content), str(style),
             "-o", str(output), "--weights", "hed", "--iterations", "2", "--remote", host,
             "--remote-python", f"{venv}/bin/python", "--progress", "none"],
            capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        assert run.returncode == 0 and output.is_file(), run.stderr
        # Removing it there: an environment this installer made, and the source.
        made = tmp_path / "remote-venv"
        made.mkdir()
        (made / common.VENV_MARKER).write_text("{}")
        gone = _install("--remote", host, "--venv", str(made), "--uninstall",
                        "--gimp-plugins-dir", str(tmp_path / "plug-ins"))  # fmt: skip
        assert gone.returncode == 0, gone.stdout + gone.stderr
        assert not made.exists() and not source.exists() and venv.is_dir()
        recorded = json.loads((here / "neural_style.json").read_text())
        assert common.contract.recorded_remotes(recorded) == {}
        # A folder of that name that this installer did not make is never replaced.
        source.mkdir(parents=True)
        (source / "notes.txt").write_text("mine")
        refused = _install("--remote", host, "--venv", str(venv), "--no-sample")
        assert refused.returncode == 1 and "did not put there" in refused.stderr + refused.stdout
        assert (source / "notes.txt").read_text() == "mine"
        (source / "notes.txt").unlink()
        source.rmdir()
    finally:
        server.stop()
        if (source / SOURCE_MARKER).is_file():
            shutil.rmtree(source)  # what the test itself sent, when the uninstall failed
        if sorted(p.name for p in source.glob("*")) == ["notes.txt"]:
            shutil.rmtree(source)  # the test's own stand-in for a user's folder
