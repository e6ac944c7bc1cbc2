"""The engine's command line, run many times in one process for the fuzzer
(test_cli_fuzz.py): the real ``styleengine.cli.main`` with its signal handling, its error
boundary and its reporters, without paying for torch's import on every generated case.

One request per line on stdin, ``{"argv": [...], "cwd": "...", "env": {...}}`` (variables to
set for this run only; None unsets one); one answer per line on the process's real stdout,
``{"code": ..., "stdout": "...", "stderr": "..."}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import traceback

from styleengine.cli import main


def serve() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    for line in sys.stdin:
        request = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        os.chdir(request["cwd"])
        saved = dict(os.environ)
        for name, value in request.get("env", {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        tempfile.tempdir = None  # tempfile remembers the folder it chose first
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(request["argv"])
            except SystemExit as stop:  # what main must never do: said as a code of its own
                code = f"SystemExit({stop.code!r})"
            except BaseException:  # what main must never let through
                code = "escaped"
                traceback.print_exc(file=err)
        os.environ.clear()
        os.environ.update(saved)
        tempfile.tempdir = None
        answer = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
