"""GIMP as a Flatpak: how the engine is started from inside Flathub's sandbox.

Flathub's GIMP (org.gimp.GIMP) runs plug-ins in its sandbox: its /usr is the GNOME
runtime's, so the engine's environment (a venv whose python links to the host's /usr) does
not run there. Its manifest grants --filesystem=host (the venv and the user's cache are
visible at their own paths) but not --talk-name=org.freedesktop.Flatpak, which
`flatpak-spawn --host` needs to start a program on the host. So the plug-in starts the
engine through flatpak-spawn --host (with --watch-bus: the engine ends when the plug-in
does), and when the sandbox refuses, says the one command that allows it.
"""

from __future__ import annotations

from pathlib import Path

FLATPAK_INFO = Path("/.flatpak-info")
FLATPAK_ALLOW = "flatpak override --user --talk-name=org.freedesktop.Flatpak org.gimp.GIMP"
FLATPAK_HINT = (
    "GIMP runs as a Flatpak, whose sandbox does not let it start the Neural Style engine "
    f"on this computer. Allow it once in a terminal with: {FLATPAK_ALLOW} ; then restart GIMP."
)


def in_flatpak(info: Path = FLATPAK_INFO) -> bool:
    return info.is_file()


def engine_command(python: str, arguments: list[str], sandboxed: bool) -> list[str]:
    """The command line that starts the engine, from inside a Flatpak sandbox or not."""
    if sandboxed:
        return ["flatpak-spawn", "--host", "--watch-bus", python, *arguments]
    return [python, *arguments]
