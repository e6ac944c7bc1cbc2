"""GIMP as a Flatpak (flatpak.py): the engine starts on the host."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import REPO

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import flatpak  # noqa: E402
import run_folders  # noqa: E402


def test_inside_a_flatpak_the_engine_starts_on_the_host(tmp_path):
    info = tmp_path / ".flatpak-info"
    assert not flatpak.in_flatpak(info)
    info.write_text("[Application]\nname=org.gimp.GIMP\n")
    assert flatpak.in_flatpak(info)
    command = flatpak.engine_command("/home/u/venv/bin/python", ["-m", "styleengine"], True)
    assert command[:3] == ["flatpak-spawn", "--host", "--watch-bus"]
    assert command[3:] == ["/home/u/venv/bin/python", "-m", "styleengine"]
    assert flatpak.engine_command("py", ["-m"], False) == ["py", "-m"]
    cache = {"XDG_CACHE_HOME": "/home/u/.var/app/org.gimp.GIMP/cache"}
    assert run_folders.work_dir_parent(True, cache) == Path(
        "/home/u/.var/app/org.gimp.GIMP/cache/gimp-neural-style/runs"
    )
    assert run_folders.work_dir_parent(False, cache) == Path(run_folders.tempfile.gettempdir())
