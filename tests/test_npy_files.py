"""The plug-in's .npy files (npy_files.py): numpy reads what it writes, and back."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "gimp_plugin" / "neural_style"))
import npy_files  # noqa: E402


@pytest.mark.parametrize("shape", [(3, 5, 1), (4, 2, 3), (7, 9, 4)])
def test_npy_writer_is_read_by_numpy(tmp_path, shape):
    pixels = np.random.default_rng(0).random(shape).astype("<f4")
    npy_files.write_npy(tmp_path / "a.npy", *shape, pixels.tobytes())
    assert np.array_equal(np.load(tmp_path / "a.npy"), pixels)
    assert (tmp_path / "a.npy").read_bytes()[:128].index(b"\n") % 64 == 63  # data aligned


def test_npy_reader_reads_numpy_files(tmp_path):
    pixels = np.random.default_rng(1).random((5, 6, 3)).astype(np.float32)
    np.save(tmp_path / "b.npy", pixels)
    shape, data = npy_files.read_npy(tmp_path / "b.npy")
    assert shape == (5, 6, 3)
    assert np.array_equal(np.frombuffer(data, "<f4").reshape(shape), pixels)


def test_8bit_values_round_trip_exactly(tmp_path):
    levels = (np.arange(256, dtype=np.float32) / 255).reshape(16, 16, 1)
    npy_files.write_npy(tmp_path / "c.npy", 16, 16, 1, levels.tobytes())
    _shape, data = npy_files.read_npy(tmp_path / "c.npy")
    back = np.round(np.frombuffer(data, "<f4") * 255).astype(int)
    assert list(back) == list(range(256))


def test_npy_reader_refuses_other_dtypes(tmp_path):
    np.save(tmp_path / "d.npy", np.zeros((2, 2, 3), np.float64))
    with pytest.raises(ValueError, match="float32"):
        npy_files.read_npy(tmp_path / "d.npy")
