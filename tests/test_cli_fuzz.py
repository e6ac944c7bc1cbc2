"""A fuzzer for the command line: hypothesis draws the forms of trouble a user or a script
meets (paths that are links, loops, folders, pipes, too long, in other scripts, with their
suffix in another case; option values that are extreme, malformed or not numbers at all) and
every run must keep the promises of the awkward-input catalogue:

- an exit code from the contract, and never an internal error or a traceback: the user is
  told in one line what is wrong;
- the user's files byte for byte as before (the result they named excepted, when the run
  succeeds), and nothing of the engine's left beside them;
- a run that exits 0 wrote a whole result: readable, finite, of the photo's size.

The cases run in one worker process (cli_worker.py) so that hundreds cost seconds, not
torch's import each. A failure hypothesis finds becomes a named case in
test_awkward_inputs.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, folder_snapshot, make_content, make_fifo, make_style
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from styleengine.contract import ErrorKind
from styleengine.image.files import read_image

EXIT_CODES = {kind.exit_code for kind in ErrorKind} - {ErrorKind.INTERNAL.exit_code}
PHOTO_SIZE = (24, 32)  # height, width: a run of two iterations takes a fraction of a second
CHEAP = ["--iterations", "2", "--scales", "1", "--weights", "hed", "--device", "cpu"]
# In CI the same 100 cases every time (CI is never red by chance); STYLEENGINE_FUZZ_EXAMPLES=N
# draws N new ones, for a longer hunt by hand.
EXPLORING = "STYLEENGINE_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("STYLEENGINE_FUZZ_EXAMPLES", "100"))


class Worker:
    """The command line in a process of its own, one request at a time."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "cli_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, argv: list[str], cwd: Path, env: dict[str, str | None]) -> dict:
        request = {"argv": argv, "cwd": str(cwd), "env": env}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the command line's process died"
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def worker(tmp_path_factory, hed_weights):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path_factory.mktemp("tmp"))}
    running = Worker(env)
    yield running
    running.close()


def _png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray((pixels * 255).astype(np.uint8)).save(path, format="PNG")
    return path


# --------------------------------------------------------------------------------------------
# Forms of a path. Each makes what it names inside ``folder`` and returns the argument.


def _photo(folder: Path, name: str = "photo.png") -> str:
    return str(_png(folder / name, make_content(*PHOTO_SIZE)))


def _link(folder: Path, name: str, target: str) -> str:
    (folder / name).symlink_to(target)
    return str(folder / name)


def _fifo(folder: Path, name: str) -> str:
    make_fifo(folder / name)
    return str(folder / name)


def _file(folder: Path, name: str, content: bytes) -> str:
    (folder / name).write_bytes(content)
    return str(folder / name)


def _folder(folder: Path, name: str) -> str:
    (folder / name).mkdir()
    return str(folder / name)


def _file_as_folder(folder: Path) -> str:
    (folder / "notes.txt").write_text("the user's notes")
    return str(folder / "notes.txt" / "photo.png")


INPUT_FORMS: dict[str, Callable[[Path], str]] = {
    "a photo": _photo,
    "a photo, suffix in capitals": lambda f: _photo(f, "PHOTO.PNG"),
    "a photo with a name in other scripts": lambda f: _photo(f, "фото 写真 ✓ é.png"),
    "a photo through a link": lambda f: _link(f, "link.png", _photo(f)),
    "a photo through a relative link": lambda f: (_photo(f), _link(f, "rel.png", "photo.png"))[1],
    "missing": lambda f: str(f / "missing.png"),
    "a folder": lambda f: _folder(f, "photos.png"),
    "a link loop": lambda f: (_link(f, "b.png", "a.png"), _link(f, "a.png", "b.png"))[1],
    "a link to itself": lambda f: _link(f, "self.png", "self.png"),
    "a dangling link": lambda f: _link(f, "dangling.png", "nowhere.png"),
    "a link to a folder": lambda f: (_folder(f, "dir"), _link(f, "dir.png", "dir"))[1],
    "a named pipe": lambda f: _fifo(f, "pipe.png"),
    "under a file": _file_as_folder,
    "a name too long": lambda f: str(f / ("p" * 300 + ".png")),
    "an empty file": lambda f: _file(f, "empty.png", b""),
    "text named .png": lambda f: _file(f, "t.png", b"not an image"),
    "an empty argument": lambda f: "",
    "a device": lambda f: os.devnull,
    # The gallery's names, wherever a painting (or, wrongly, a photo) is taken.
    "a gallery painting": lambda f: "gallery:munch_the_scream",
    "a gallery name as typed": lambda f: "gallery:Munch_The_Scream ",
    "an unknown gallery name": lambda f: "gallery:munch",
    "an empty gallery name": lambda f: "gallery:",
    "a file named like a gallery name": lambda f: _photo(f, "gallery:scream.png"),
}

OUTPUT_FORMS: dict[str, Callable[[Path], str]] = {
    **{
        f"new, {suffix}": (lambda f, s=suffix: str(f / f"result{s}"))
        for suffix in (
            ".png",
            ".PNG",
            ".Png",
            ".npy",
            ".NPY",
            ".jpg",
            ".JPEG",
            ".tif",
            ".TIFF",
        )
    },  # fmt: skip
    "over an earlier result": lambda f: str(_png(f / "old.png", make_style(8, 8))),
    "an unknown suffix": lambda f: str(f / "result.webp"),
    "no suffix": lambda f: str(f / "result"),
    "a folder": lambda f: _folder(f, "out"),
    "a folder that is missing": lambda f: str(f / "missing" / "result.png"),
    "under a file": _file_as_folder,
    "a link loop": lambda f: (_link(f, "d.png", "c.png"), _link(f, "c.png", "d.png"))[1],
    "a link into a loop": lambda f: (_link(f, "loop", "loop"), str(f / "loop" / "r.png"))[1],
    "a named pipe": lambda f: _fifo(f, "result-pipe.png"),
    "a name too long": lambda f: str(f / ("r" * 300 + ".png")),
    "the photo itself": lambda f: str(f / "photo.png"),
    "the photo by another path": lambda f: str(f / "." / "photo.png"),
    "a hard link to the photo": lambda f: (
        os.link(f / "photo.png", f / "hard.png"),
        str(f / "hard.png"),
    )[1],  # fmt: skip
}

NUMBERS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "-1", "0", "-0", "1e309", "1e-320", "", " ", "abc",
                     "1,2", "0x10", "1_000", "½", "١٢"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)  # fmt: skip
# Options whose every value costs the same: the iterations and sizes stay cheap.
NUMERIC_OPTIONS = ["--style-weight", "--content-weight", "--tv-weight", "--layout-weight",
                   "--palette", "--variation", "--seed", "--style-scale",
                   "--coarse-content-weight", "--report-every", "--scales",
                   "--detail-iterations"]  # fmt: skip
LIST_OPTIONS = {
    "--style-blend": st.lists(NUMBERS, max_size=4).map(",".join),
    "--style-layers": st.sampled_from(["", ",", "relu1_1", "relu1_1:nan", "relu9_9",
                                       "relu1_1:-1,relu2_1", "relu1_1:1e309", "conv1_1:1"]),
    "--sliced-layers": st.sampled_from(["", "relu3_1", "relu3_1,relu3_1", "pool1", ","]),
}  # fmt: skip


# The places the engine keeps things, in forms a user's environment may have them. The
# weights stay reachable: STYLEENGINE_CACHE, when fine, is the tests' shared cache.
ENVIRONMENT_FORMS: dict[str, Callable[[Path], dict[str, str | None]]] = {
    "as set up": lambda f: {},
    "no HOME": lambda f: {"HOME": None},
    "HOME missing": lambda f: {"HOME": str(f / "gone")},
    "TMPDIR missing": lambda f: {"TMPDIR": str(f / "gone")},
    "TMPDIR a file": lambda f: {"TMPDIR": _file(f, "tmp-file", b"")},
    "XDG_CACHE_HOME a file": lambda f: {"XDG_CACHE_HOME": _file(f, "cache-file", b"")},
    "STYLEENGINE_CACHE a file": lambda f: {"STYLEENGINE_CACHE": _file(f, "engine-cache", b"")},
    "STYLEENGINE_CACHE a link loop": lambda f: {
        "STYLEENGINE_CACHE": (_link(f, "cl1", "cl2"), _link(f, "cl2", "cl1"))[1]
    },
    "STYLEENGINE_CACHE empty": lambda f: {"STYLEENGINE_CACHE": ""},
}

GOOD_INPUTS = [name for name in INPUT_FORMS if name.startswith("a photo")]
GOOD_OUTPUTS = [name for name in OUTPUT_FORMS if name.startswith("new") or "earlier" in name]
# Half the time a value that is fine: a run must get far enough for later checks to matter.
VALUES = st.one_of(NUMBERS, st.floats(0, 2).map(lambda x: f"{x:.3g}"), st.integers(1, 9).map(str))


def _form(names: list[str], good: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(good), st.sampled_from(sorted(names)))


@st.composite
def runs(draw) -> tuple[str, str, str, list[str], str]:
    content = draw(_form(list(INPUT_FORMS), GOOD_INPUTS))
    style = draw(_form(list(INPUT_FORMS), GOOD_INPUTS))
    output = draw(_form(list(OUTPUT_FORMS), GOOD_OUTPUTS))
    options: list[str] = []
    for option in draw(st.lists(st.sampled_from(NUMERIC_OPTIONS), max_size=2, unique=True)):
        options += [option, draw(VALUES)]
    for option in draw(st.lists(st.sampled_from(sorted(LIST_OPTIONS)), max_size=1)):
        options += [option, draw(LIST_OPTIONS[option])]
    environment = draw(_form(list(ENVIRONMENT_FORMS), ["as set up"]))
    return content, style, output, options, environment


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not EXPLORING,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=runs())
def test_every_run_keeps_the_catalogues_promises(worker, case):
    content_form, style_form, output_form, options, environment_form = case
    with tempfile.TemporaryDirectory() as place, tempfile.TemporaryDirectory() as home:
        folder = Path(place)
        environment = ENVIRONMENT_FORMS[environment_form](Path(home))
        photo = _photo(folder)  # the user's photo is always there: forms may point at it
        content = photo if content_form == "a photo" else INPUT_FORMS[content_form](folder)
        style_folder = folder / "paintings"
        style_folder.mkdir()
        style = INPUT_FORMS[style_form](style_folder)
        if style_form == "a photo":  # a painting, in fact
            style = str(_png(style_folder / "painting.png", make_style(20, 20)))
        output = OUTPUT_FORMS[output_form](folder)
        before = folder_snapshot(folder)
        argv = ["stylize", content, style, "-o", output, *CHEAP, *options]
        answer = worker.run(argv, folder, environment)
        said = answer["stdout"] + answer["stderr"]
        event("succeeded" if answer["code"] == 0 else "refused")
        assert answer["code"] in EXIT_CODES | {0}, (case, said)
        assert "Traceback" not in said and "Internal error" not in said, (case, said)
        after = folder_snapshot(folder)
        # The result the user named is theirs to replace, when the run succeeds.
        written = os.path.relpath(os.path.normpath(output), folder) if answer["code"] == 0 else ""
        for name, digest in before.items():
            if name != written:
                assert after.get(name) == digest, (case, f"{name} was changed or removed")
        assert sorted(set(after) - set(before) - {written}) == [], (case, said)
        if written:
            result = read_image(folder / written)
            assert result.rgb.shape[:2] == PHOTO_SIZE and np.isfinite(result.rgb).all(), case
            assert result.rgb.std() > 0.01, case  # not blank: the photo was not
        else:
            errors = [line for line in answer["stderr"].splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and answer["stderr"].rstrip().endswith(errors[0]), (case, said)
