"""The top fraction of generated images by a per-image score, from arrays, files or functions."""

from __future__ import annotations

import numpy as np
import pytest

from improved_gan.errors import ConfigError, DataError
from improved_gan.turing.selection import resolve_scores, top_fraction_indices

IMAGES = np.zeros((200, 4, 4, 1), np.uint8)


def test_top_fraction_is_the_best_scores_in_order():
    scores = np.random.default_rng(0).normal(size=200)
    keep = top_fraction_indices(scores, 0.05)
    naive = sorted(range(200), key=lambda i: scores[i], reverse=True)[:10]
    assert keep.tolist() == naive


def test_top_fraction_counts_and_ties():
    assert len(top_fraction_indices(np.arange(50000.0), 0.01)) == 500
    assert len(top_fraction_indices(np.arange(10.0), 0.01)) == 1
    assert top_fraction_indices(np.ones(5), 0.4).tolist() == [0, 1]  # ties keep order
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="top fraction"):
            top_fraction_indices(np.ones(5), bad)


def test_scores_from_array_file_and_function(tmp_path):
    values = np.linspace(0, 1, 200)
    np.save(tmp_path / "scores.npy", values)
    for source in (values, tmp_path / "scores.npy", str(tmp_path / "scores.npy"),
                   lambda images: values[: len(images)]):
        got = resolve_scores(source, IMAGES)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, values)


def test_bad_scores_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"expected shape \[200\]"):
        resolve_scores(np.ones(199), IMAGES)
    with pytest.raises(DataError, match="NaN or infinite"):
        resolve_scores(np.r_[np.ones(199), np.nan], IMAGES)
    with pytest.raises(DataError, match="cannot read scores"):
        resolve_scores(tmp_path / "missing.npy", IMAGES)
    with pytest.raises(DataError, match="numbers"):
        resolve_scores(np.array(["a"] * 200), IMAGES)
