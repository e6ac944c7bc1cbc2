"""The engine, the plug-in and the installer, read by a type checker as Windows' and macOS'
Python would run them: no name may be used that the platform's standard library lacks.

    python tools/check_platforms.py            # win32 and darwin; exit 1 on a finding

mypy reads the standard library's stubs for the platform it is told (``--platform``) and
follows ``sys.platform`` branches, so a POSIX-only name reached on Windows (``os.getuid``,
``signal.SIGHUP``, ``os.O_NONBLOCK``...) is reported, and one inside a ``sys.platform``
branch is not. Third-party packages (torch, numpy) are not read: their names are not the
platform's. Only the findings about missing names fail the check; the rest of mypy's
findings are another matter (this code base is not fully annotated).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECKED = ["styleengine", "gimp_plugin/neural_style", "installer", "install.py"]
PLATFORMS = ("win32", "darwin")
# mypy's words for a name a module lacks: `Module has no attribute "X"` (an attribute of an
# imported module) and `Module "X" has no attribute "Y"` (a from-import).
MISSING_NAME = re.compile(r'error: Module (?:"[\w.]+" )?has no attribute ')


def findings(platform: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--platform", platform, "--python-version", "3.10",
         "--no-site-packages", "--ignore-missing-imports", "--no-error-summary",
         "--no-incremental", *CHECKED],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    if done.returncode not in (0, 1) or "error: " not in done.stdout and done.returncode:
        raise SystemExit(f"mypy could not check for {platform}:\n{done.stdout}{done.stderr}")
    return [line for line in done.stdout.splitlines() if MISSING_NAME.search(line)]


def main() -> int:
    failed = False
    for platform in PLATFORMS:
        found = findings(platform)
        print(f"{platform}: {len(found)} name(s) the platform lacks")
        for line in found:
            print(f"  {line}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
