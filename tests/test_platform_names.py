"""The engine, the plug-in and the installer use no name Windows' or macOS' Python lacks,
as a type checker told the platform reads them (tools/check_platforms.py, mypy --platform)."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO

spec = importlib.util.spec_from_file_location(
    "check_platforms", REPO / "tools" / "check_platforms.py"
)
check_platforms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_platforms)


@pytest.mark.parametrize("platform", check_platforms.PLATFORMS)
def test_no_name_the_platform_lacks(platform):
    assert check_platforms.findings(platform) == []


def test_the_check_sees_a_posix_only_name(tmp_path, monkeypatch):
    """The check itself can fail: a module calling os.getuid() outside a sys.platform
    branch is reported for Windows, and not once the call is inside one."""
    (tmp_path / "posix_only.py").write_text(
        "import os\n\n\ndef owner() -> int:\n    return os.getuid()\n"
    )
    (tmp_path / "branched.py").write_text(
        "import os\nimport sys\n\n\ndef owner() -> int:\n"
        "    if sys.platform == 'win32':\n        return 0\n    return os.getuid()\n"
    )
    monkeypatch.setattr(check_platforms, "REPO", tmp_path)
    monkeypatch.setattr(check_platforms, "CHECKED", ["posix_only.py", "branched.py"])
    found = check_platforms.findings("win32")
    assert len(found) == 1 and found[0].startswith("posix_only.py:5:") and "getuid" in found[0]
    assert check_platforms.findings("darwin") == []
