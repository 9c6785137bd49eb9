"""ImageDataset: its invariants and subsets."""

from __future__ import annotations

import numpy as np
import pytest

from improved_gan.data import ImageDataset


def _dataset(n: int = 6) -> ImageDataset:
    return ImageDataset(
        name="toy",
        split="train",
        images=np.arange(n * 2 * 2 * 3, dtype=np.uint8).reshape(n, 2, 2, 3),
        labels=np.arange(n, dtype=np.int64) % 3,
        num_classes=3,
        class_names=("a", "b", "c"),
        note="toy data",
    )


def test_len_shape_counts():
    data = _dataset()
    assert len(data) == 6 and data.image_shape == (2, 2, 3)
    assert data.class_counts().tolist() == [2, 2, 2]
    assert "toy" in repr(data) and "(6, 2, 2, 3)" in repr(data)


def test_subset_keeps_metadata_and_order():
    data = _dataset()
    part = data.subset(np.array([4, 1]), split="validation")
    assert part.split == "validation" and part.note == "toy data" and part.class_names == data.class_names
    np.testing.assert_array_equal(part.labels, [1, 1])
    np.testing.assert_array_equal(part.images, data.images[[4, 1]])
    part.images[0] = 0  # a copy: the parent is untouched
    assert data.images[4].any()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("images", np.zeros((6, 2, 2, 3), np.float32), "uint8 images"),
        ("images", np.zeros((6, 2, 2), np.uint8), "uint8 images"),
        ("labels", np.zeros(6, np.int32), "int64 labels"),
        ("labels", np.zeros(5, np.int64), "one label per image"),
        ("labels", np.full(6, 3, np.int64), "labels in 0..2"),
        ("class_names", ("a", "b"), "3 class names"),
    ],
)
def test_invariants(field, value, message):
    kwargs = {k: getattr(_dataset(), k) for k in ("name", "split", "images", "labels", "num_classes", "class_names")}
    kwargs[field] = value
    with pytest.raises(ValueError, match=message):
        ImageDataset(**kwargs)


def test_subset_rejects_boolean_masks():
    with pytest.raises(ValueError, match="integer index"):
        _dataset().subset(np.ones(6, bool))
