"""The registry: names, splits, the validation hold-out, the data root."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from improved_gan.data import DATA_ROOT_ENV, DATASETS, load_dataset, resolve_data_root
from improved_gan.errors import UserError


def test_registered_names():
    assert set(DATASETS) == {"mnist", "mnist5k", "cifar10", "svhn"}


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(UserError) as err:
        load_dataset("mnist10k")
    assert "'mnist10k'" in str(err.value)
    for name in DATASETS:
        assert name in str(err.value)


def test_unknown_split_lists_the_valid_splits():
    with pytest.raises(UserError, match="valid splits: train, test, validation, train-minus-validation"):
        load_dataset("mnist", split="val")


def test_mnist5k_has_no_validation_split():
    with pytest.raises(UserError, match="valid splits: train, test$"):
        load_dataset("mnist5k", split="validation")


def test_validation_is_the_tail_of_train(shared_data):
    train = load_dataset("mnist", root=shared_data, split="train", download=False)
    validation = load_dataset("mnist", root=shared_data, split="validation", download=False)
    rest = load_dataset("mnist", root=shared_data, split="train-minus-validation", download=False)
    assert (len(rest), len(validation)) == (50_000, 10_000)
    np.testing.assert_array_equal(validation.images, train.images[50_000:])
    np.testing.assert_array_equal(rest.labels, train.labels[:50_000])
    assert validation.split == "validation" and "last 10,000" in validation.note
    assert validation.class_counts().tolist() == [991, 1064, 990, 1030, 983, 915, 967, 1090, 1009, 961]


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "from-env"))
    assert resolve_data_root(tmp_path / "given") == tmp_path / "given"
    assert resolve_data_root() == tmp_path / "from-env"
    monkeypatch.setenv(DATA_ROOT_ENV, "")
    assert resolve_data_root() == Path.home() / ".cache" / "improved-gan" / "data"
    monkeypatch.delenv(DATA_ROOT_ENV)
    assert resolve_data_root() == Path.home() / ".cache" / "improved-gan" / "data"
    assert resolve_data_root("~/x") == Path.home() / "x"


def test_relative_root_becomes_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert resolve_data_root("data") == tmp_path / "data"


def test_empty_root_is_an_error():
    with pytest.raises(UserError, match="empty"):
        resolve_data_root("")


def test_load_dataset_reads_the_environment_root(monkeypatch, shared_data):
    monkeypatch.setenv(DATA_ROOT_ENV, str(shared_data))
    assert len(load_dataset("mnist", split="test", download=False)) == 10_000


@pytest.mark.parametrize("name", ["mnist5k", "mnist", "cifar10"])
def test_the_table_s_image_shape_is_the_loaded_images_shape(name, shared_data):
    """`score` chooses its default metrics by DatasetSpec.image_shape before it loads anything (source_shapes.py):
    the table must say what the loader gives. SVHN's files are not in the test data; its loader's own tests
    check its (32, 32, 3)."""
    images = load_dataset(name, root=shared_data, split="test", download=False).images
    assert images.shape[1:] == DATASETS[name].image_shape
