"""The MNIST classifier: shapes, shifts, deterministic training, checksum-verified cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from improved_gan.errors import UserError
from improved_gan.metrics import classifier as clf
from improved_gan.metrics.cache import CACHE_ENV
from improved_gan.metrics.classifier import (
    MnistClassifier,
    TrainingOptions,
    classifier_accuracy,
    load_classifier,
    save_classifier,
    train_classifier,
    weights_digest,
)

TINY_OPTIONS = TrainingOptions(epochs=1, batch_size=50)


def _tiny_model() -> MnistClassifier:
    return MnistClassifier(width=4, feature_dim=16)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


def test_forward_takes_uint8_digits_and_returns_logits_and_features():
    net = MnistClassifier().eval()
    out = net(torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8))
    assert out.logits.shape == (3, 10) and out.features.shape == (3, 128)
    assert (out.features >= 0).all()  # after ReLU
    with pytest.raises(TypeError, match="uint8"):
        net(torch.rand(3, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\[N, 1, 28, 28\]"):
        net(torch.zeros(3, 3, 28, 28, dtype=torch.uint8))
    assert "width=16" in repr(net)


def test_the_recipe_trains_on_one_batch_to_every_image():
    options = TrainingOptions(batch_size=50)
    assert options.check_images(50, 60_000) == 50 and options.check_images(60_000, 60_000) == 60_000
    for n in (49, 60_001):
        with pytest.raises(UserError, match=f"--train-images must be from 50 \\(one batch\\) to 60,000 \\(got {n}\\)"):
            options.check_images(n, 60_000)


def test_random_shift_moves_each_image_with_zero_fill():
    images = torch.arange(2 * 5 * 5, dtype=torch.uint8).reshape(2, 1, 5, 5) + 1
    generator = torch.Generator().manual_seed(0)
    shifted = clf._random_shift(images, 2, generator)
    dy, dx = torch.randint(0, 5, (2, 2), generator=torch.Generator().manual_seed(0))
    for i in range(2):
        expected = np.zeros((9, 9), np.uint8)
        expected[2:7, 2:7] = images[i, 0].numpy()
        np.testing.assert_array_equal(shifted[i, 0].numpy(), expected[dy[i] : dy[i] + 5, dx[i] : dx[i] + 5])


def test_training_is_deterministic_and_leaves_global_state_alone(mnist_small):
    images, labels = (array[:1000] for array in mnist_small.train)
    threads = torch.get_num_threads()
    model = _tiny_model()
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = train_classifier(images, labels, options=TINY_OPTIONS, model=model, progress=False)
    assert torch.equal(torch.rand(3), expected_next)  # the global RNG did not move
    assert torch.get_num_threads() == threads
    second = train_classifier(images, labels, options=TINY_OPTIONS, model=_tiny_model(), progress=False)
    assert weights_digest(first) == weights_digest(second)
    other_seed = TrainingOptions(epochs=1, batch_size=50, seed=1)
    third = train_classifier(images, labels, options=other_seed, model=_tiny_model(), progress=False)
    assert weights_digest(third) != weights_digest(first)
    assert not first.training


def test_tiny_training_learns_digits(tiny_classifier, mnist_small):
    images, labels = mnist_small.test
    assert classifier_accuracy(tiny_classifier, images, labels) > 0.9


def test_save_and_load_round_trip(tiny_classifier, tmp_path):
    path = save_classifier(tiny_classifier, tmp_path / "c.pt", test_accuracy=0.5)
    loaded = load_classifier(path)
    assert weights_digest(loaded) == weights_digest(tiny_classifier)
    assert loaded.width == 8 and not loaded.training
    assert torch.load(path, weights_only=True)["record"] == {"test_accuracy": 0.5}
    default = save_classifier(tiny_classifier)
    assert default.parent == clf.classifier_cache_dir()
    assert default.name == f"mnist-{weights_digest(tiny_classifier)[:16]}.pt"


def test_a_changed_file_is_detected(tiny_classifier, tmp_path):
    path = save_classifier(tiny_classifier, tmp_path / "c.pt")
    state = torch.load(path, weights_only=True)
    state["state_dict"]["head.1.bias"] += 0.01
    torch.save(state, path)
    with pytest.raises(UserError, match="the file was changed.*classifier train"):
        load_classifier(path)


def test_the_reference_must_match_the_digest_in_the_package(tiny_classifier, monkeypatch):
    monkeypatch.setattr(clf, "MNIST_CLASSIFIER_SHA256", weights_digest(tiny_classifier))
    save_classifier(tiny_classifier, clf.default_classifier_path())
    assert weights_digest(load_classifier()) == weights_digest(tiny_classifier)
    monkeypatch.setattr(clf, "MNIST_CLASSIFIER_SHA256", "0" * 64)  # the package now expects other weights
    save_classifier(tiny_classifier, clf.default_classifier_path())
    with pytest.raises(UserError, match="recorded \\(in the package\\)"):
        load_classifier()


def test_a_missing_reference_says_how_to_train_it(tiny_classifier):
    with pytest.raises(UserError, match="improved-gan classifier train") as err:
        load_classifier()
    assert "--classifier" not in str(err.value)


def test_a_classifier_trained_here_is_used_when_the_reference_is_not_cached(tiny_classifier):
    """The loop closed: what `classifier train` caches (its weights differing from the reference's
    in the last bits on another CPU) is what scores and training runs then load, checked against
    its own recorded digest."""
    path = save_classifier(tiny_classifier)  # a classifier trained here, differing from the reference
    assert clf.local_classifier_path() == path
    loaded = load_classifier()
    assert weights_digest(loaded) == weights_digest(tiny_classifier) and not clf.is_reference(loaded)
    state = torch.load(path, weights_only=True)
    state["state_dict"]["head.1.bias"] += 1  # damaged after it was written
    torch.save(state, path)
    with pytest.raises(UserError, match="recorded \\(in the file\\)"):
        load_classifier()


def test_a_foreign_file_is_a_clear_error(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a classifier saved by"):
        load_classifier(tmp_path / "x.pt")
    with pytest.raises(UserError, match="does not exist"):
        load_classifier(tmp_path / "missing.pt")


def test_a_record_is_saved_as_plain_types_the_safe_loader_accepts(tiny_classifier, tmp_path):
    """torch.__version__ is a TorchVersion (a str subclass) that torch.load(weights_only=True) refuses:
    the record keeps plain types only, and an object that is none of them is refused at save time."""
    path = save_classifier(tiny_classifier, tmp_path / "c.pt", torch_version=torch.__version__, shape=(1, 28))
    record = torch.load(path, weights_only=True)["record"]
    assert record == {"torch_version": str(torch.__version__), "shape": [1, 28]}
    assert type(record["torch_version"]) is str
    with pytest.raises(TypeError, match="plain values only"):
        save_classifier(tiny_classifier, tmp_path / "d.pt", device=torch.device("cpu"))
    assert not (tmp_path / "d.pt").exists()


def test_a_file_written_before_records_were_plain_still_loads(tiny_classifier, tmp_path):
    """Caches written by `classifier train` before the fix hold a TorchVersion; they load, and any other
    foreign object is one short line (not torch's seven lines of advice)."""
    state = torch.load(save_classifier(tiny_classifier, tmp_path / "c.pt"), weights_only=True)
    state["record"] = {"torch_version": torch.__version__}  # as the old command stored it
    torch.save(state, tmp_path / "old.pt")
    assert weights_digest(load_classifier(tmp_path / "old.pt")) == weights_digest(tiny_classifier)
    state["record"] = {"device": torch.nn.Identity()}
    torch.save(state, tmp_path / "foreign.pt")
    with pytest.raises(UserError, match="not a classifier saved by") as err:
        load_classifier(tmp_path / "foreign.pt")
    assert "\n" not in str(err.value) and "Identity" in str(err.value)
