"""Sample scores during training: every k epochs into metrics.jsonl, TensorBoard and the report.

The trainer scores with the cached reference classifier; here a narrow classifier
trained on mnist5k in seconds stands in for it: it is saved into a temporary cache
as the reference (the package's recorded digest patched to its own), so the
trainer loads it through the real path, and the test needs neither the reference
weights nor the real MNIST files.
"""

from __future__ import annotations

import json

import pytest

from improved_gan.config import TrainConfig, apply_overrides
from improved_gan.experiments.presets import get_preset
from improved_gan.training.trainer import train

SMALL = {
    "dataset": "mnist5k", "epochs": 3, "iters_per_epoch": 4, "batch_size": 20, "labels": 20,
    "precision": "fp32", "init_batch_size": 100, "sample_grid": 16, "final_score_samples": 0,
    "epoch_score_samples": 40,
}  # fmt: skip


@pytest.fixture(scope="module")
def stand_in_classifier():
    from improved_gan.data import load_dataset
    from improved_gan.metrics.classifier import MnistClassifier, TrainingOptions, train_classifier

    data = load_dataset("mnist5k", split="train")
    options = TrainingOptions(epochs=1, batch_size=50, max_lr=1e-2)
    return train_classifier(data.images, data.labels, options=options, model=MnistClassifier(width=8, feature_dim=32),
                            progress=False)  # fmt: skip


def _config(**overrides) -> TrainConfig:
    return apply_overrides(get_preset("mnist-fm"), {**SMALL, **overrides})


@pytest.fixture
def patched_classifier(stand_in_classifier, monkeypatch, tmp_path):
    from improved_gan.metrics import classifier

    monkeypatch.setenv("IMPROVED_GAN_CACHE", str(tmp_path / "cache"))  # the classifier and statistics land here
    monkeypatch.setattr(classifier, "MNIST_CLASSIFIER_SHA256", classifier.weights_digest(stand_in_classifier))
    classifier.save_classifier(stand_in_classifier, classifier.default_classifier_path())


def _rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_scores_every_k_epochs_and_after_the_last(patched_classifier, tmp_path):
    run = tmp_path / "scored"
    train(_config(epoch_score_every=2, final_score_samples=20), run, progress=False)
    rows = _rows(run)
    scores = json.loads((run / "scores.json").read_text())  # the end-of-run entries
    assert scores["mnist_score"]["n"] == 20 and 1.0 <= scores["mnist_score"]["mean"] <= 10.0
    assert scores["mnist_fd"]["reference"] == "mnist5k:train" and scores["mnist_fd"]["value"] > 0
    assert ["mnist_score_mean" in r for r in rows] == [False, True, True]  # epoch 2, and 3 = the last
    for row in rows[1:]:
        assert 1.0 <= row["mnist_score_mean"] <= 10.0 and row["mnist_score_std"] >= 0 and row["mnist_fd"] > 0
    report = (run / "report.md").read_text()
    assert "## Sample scores during training" in report and (run / "mnist_score.png").is_file()
    assert "| epoch | test errors | D loss | D loss, unsupervised part | G loss | MNIST score | MNIST FD | s |" in report
    assert "MNIST score" in (run / "log.txt").read_text()


def test_scoring_does_not_change_the_training(patched_classifier, tmp_path):
    """Loading the classifier builds a model (random initial weights, then the saved ones) and
    computes reference statistics: none of it may draw from the training's random stream."""
    train(_config(epoch_score_every=2), tmp_path / "on", progress=False)  # first scores after epoch 2
    train(_config(epoch_score_every=0), tmp_path / "off", progress=False)
    drop = {"seconds", "mnist_score_mean", "mnist_score_std", "mnist_fd"}
    on = [{k: v for k, v in r.items() if k not in drop} for r in _rows(tmp_path / "on")]
    off = [{k: v for k, v in r.items() if k not in drop} for r in _rows(tmp_path / "off")]
    assert on == off
    assert ["mnist_score_mean" in r for r in _rows(tmp_path / "on")] == [False, True, True]
    assert not any("mnist_score_mean" in r for r in _rows(tmp_path / "off"))
    assert "Sample scores during training" not in (tmp_path / "off" / "report.md").read_text()


@pytest.mark.parametrize(
    "overrides, message",
    [({"epoch_score_every": -1}, "epoch_score_every must be >= 0"),
     ({"epoch_score_samples": 5}, "epoch_score_samples must be 0 or at least 10")],
)  # fmt: skip
def test_bad_score_settings(overrides, message):
    from improved_gan.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        _config(**overrides).validate()


@pytest.mark.parametrize("content, says", [(b"[1, 2]", "holds a JSON list"), (b"\xff\xfe", "not valid JSON")])
def test_a_scores_json_that_cannot_be_merged_into_is_one_line_and_kept(content, says, tmp_path):
    """The trainer's end-of-run scores met a scores.json that is a list or not UTF-8 with a traceback."""
    from improved_gan.errors import UserError
    from improved_gan.runs.scores import merge_run_scores

    path = tmp_path / "scores.json"
    path.write_bytes(content)
    with pytest.raises(UserError, match=says):
        merge_run_scores(path, {"mnist_score": {"mean": 9.0}})
    assert path.read_bytes() == content
