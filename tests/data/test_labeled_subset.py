"""Balanced labeled subsets: balance, determinism, the reference's selection rule, errors."""

from __future__ import annotations

import numpy as np
import pytest

from improved_gan.data import labeled_subset
from improved_gan.errors import UserError


def _unbalanced_labels(n: int = 3000, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(10, size=n, p=np.linspace(1, 2, 10) / np.linspace(1, 2, 10).sum())


def _naive_selection(labels: np.ndarray, num_labels: int, seed: int) -> set[int]:
    """The rule in docs/reference.md, as a loop: walk the permutation, keep a class's first picks."""
    per_class = num_labels // 10
    taken = [0] * 10
    chosen = set()
    for index in np.random.RandomState(seed).permutation(len(labels)):
        label = labels[index]
        if taken[label] < per_class:
            taken[label] += 1
            chosen.add(int(index))
    return chosen


@pytest.mark.parametrize("num_labels", [20, 50, 100, 200])
def test_balanced_and_equal_to_the_naive_rule(num_labels):
    labels = _unbalanced_labels()
    indices = labeled_subset(labels, num_labels, seed=3)
    assert indices.dtype == np.int64 and indices.shape == (num_labels,)
    assert len(set(indices.tolist())) == num_labels
    assert np.bincount(labels[indices], minlength=10).tolist() == [num_labels // 10] * 10
    assert set(indices.tolist()) == _naive_selection(labels, num_labels, seed=3)


def test_class_major_order():
    labels = _unbalanced_labels()
    assert labels[labeled_subset(labels, 50, seed=0)].tolist() == sorted(labels[labeled_subset(labels, 50, seed=0)])


def test_deterministic_and_seed_dependent():
    labels = _unbalanced_labels()
    first = labeled_subset(labels, 100, seed=7)
    np.testing.assert_array_equal(first, labeled_subset(labels.copy(), 100, seed=7))
    assert set(first.tolist()) != set(labeled_subset(labels, 100, seed=8).tolist())


def test_pinned_selection_is_platform_independent():
    # RandomState(0).permutation(10) is [2 8 4 9 1 6 7 3 0 5] on every platform and NumPy version;
    # with labels = index % 10 the first two of each class in that order are pinned here.
    labels = np.arange(100) % 10
    expected = [30, 60, 71, 51, 2, 92, 93, 73, 54, 24, 55, 75, 26, 86, 7, 27, 78, 8, 99, 59]
    assert labeled_subset(labels, 20, seed=0).tolist() == expected


def test_larger_subsets_extend_smaller_ones():
    # Each class takes its first examples in permutation order: 10 per class contains the 5 per class.
    labels = _unbalanced_labels()
    small, large = labeled_subset(labels, 50, seed=2), labeled_subset(labels, 100, seed=2)
    assert set(small.tolist()) <= set(large.tolist())


@pytest.mark.parametrize("num_labels", [0, -10, 25, 105])
def test_not_a_positive_multiple_of_the_classes(num_labels):
    with pytest.raises(UserError, match="positive multiple of 10"):
        labeled_subset(np.arange(1000) % 10, num_labels, seed=0)


@pytest.mark.parametrize("num_labels", [10.0, True, "100"])
def test_non_integer_number_of_labels(num_labels):
    with pytest.raises(UserError, match="must be an integer"):
        labeled_subset(np.arange(1000) % 10, num_labels, seed=0)


def test_more_labels_per_class_than_the_class_has():
    labels = np.concatenate([np.repeat([c for c in range(10) if c != 7], 50), np.full(12, 7)])
    with pytest.raises(UserError) as err:
        labeled_subset(labels, 200, seed=0)
    message = str(err.value)
    assert "20 per class" in message and "class 7 has only 12" in message and "at most 120 labels" in message


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5])
def test_seed_out_of_range(seed):
    with pytest.raises(UserError, match="data seed"):
        labeled_subset(np.arange(100) % 10, 10, seed=seed)


def test_labels_outside_the_classes_are_a_programming_error():
    with pytest.raises(ValueError, match="0..9"):
        labeled_subset(np.array([0, 1, 10]), 10, seed=0)


def test_other_number_of_classes():
    labels = np.arange(60) % 3
    assert np.bincount(labels[labeled_subset(labels, 30, seed=1, num_classes=3)]).tolist() == [10, 10, 10]
