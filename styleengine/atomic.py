"""A file that appears whole or not at all: written beside its place under another name, then
renamed over it. A failure, a cancel or a crash leaves the old file (or none) and no partial
one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def whole_file(target: Path, prefix: str | None = None, suffix: str = ".partial") -> Iterator[Path]:
    """A private temporary path in ``target``'s folder to write to; when the block ends
    without an error it becomes ``target``, otherwise it is removed."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def new_file_mode() -> int:
    """0666 less the process's umask: the mode open() gives a new file, which a result gets
    too (the temporary file it is written to is private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
