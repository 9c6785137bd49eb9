"""imagenet128's Inception score every k epochs, when the Inception weights are present (issue 16, item 3).

No real weights exist here and none may be committed: a file of random weights in the real file's
layout stands in (tests/inception_stand_in.py, as the metric tests), found by the trainer through
``$IMPROVED_GAN_INCEPTION_WEIGHTS``, its checksum check told to expect the stand-in's digest. The
runs are the short imagenet128 CPU run of test_imagenet_training.py (tests/imagenet_folder.py),
in-process, with the scores turned on.
"""

from __future__ import annotations

import json

import pytest
from imagenet_folder import TINY_IMAGENET
from inception_stand_in import trust_stand_in, write_stand_in_weights

from improved_gan.cli.main import main
from improved_gan.runs.guard import run_folder_problem

pytestmark = pytest.mark.usefixtures("one_thread")

SCORED = ["--epochs", "2", "--set", "epoch_score_every=1", "--set", "epoch_score_samples=10",
          "--set", "final_score_samples=20"]
"""Scores after both epochs and at the end. The score has 10 splits: 10 samples are one per split, whose
score is exactly 1 (p(y) of a split is its one p(y|x)); 20 are two per split, a score in [1, 2]. Inception
costs about 0.5 s per image on a loaded 2-core CPU, hence so few; the tiny G's samples are
alike, so the end-of-run score is barely above 1."""


@pytest.fixture(scope="module")
def stand_in_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "stand-in-inception.pth"
    return path, write_stand_in_weights(path)


def _train(image_folder, run, *extra: str) -> int:
    return main(["train", "imagenet128", *TINY_IMAGENET, *extra, "--data-dir", str(image_folder), "--out", str(run)])


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_an_imagenet128_run_scores_every_epoch_into_its_run_folder(stand_in_weights, image_folder, tmp_path,
                                                                   monkeypatch, capsys):
    path, sha256 = stand_in_weights
    monkeypatch.setenv("IMPROVED_GAN_INCEPTION_WEIGHTS", str(path))
    trust_stand_in(sha256, monkeypatch)
    run = tmp_path / "scored"
    assert _train(image_folder, run, *SCORED) == 0
    rows = _rows(run)
    assert [row["epoch"] for row in rows] == [1, 2]
    for row in rows:
        assert row["inception_score_mean"] == pytest.approx(1.0) and row["inception_score_std"] == pytest.approx(0.0)
    scores = json.loads((run / "scores.json").read_text())
    assert scores["is"]["n"] == 20 and scores["is"]["splits"] == 10 and 1.0 <= scores["is"]["mean"] <= 2.0
    assert scores["is"]["network"].startswith("inception ")
    out = capsys.readouterr().out
    assert "epoch 2: " in out and "Inception score" in out and "sample scores not computed" not in out
    log = (run / "log.txt").read_text()
    assert "epoch 2: " in log and "Inception score 1.00" in log and "(20 samples)" in log
    report = (run / "report.md").read_text()
    assert "## Sample scores during training" in report and (run / "inception_score.png").is_file()
    assert "| epoch | test errors | D loss | D loss, unsupervised part | G loss | Inception score | s |" in report
    assert run_folder_problem(run) is None  # the new plot is a file a run writes

    # scoring neither draws from the training's random stream (the G's noise channels) nor changes it
    monkeypatch.delenv("IMPROVED_GAN_INCEPTION_WEIGHTS")
    unscored = tmp_path / "unscored"
    assert _train(image_folder, unscored, "--epochs", "2") == 0
    drop = {"seconds", "inception_score_mean", "inception_score_std"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == \
           [{k: v for k, v in r.items() if k not in drop} for r in _rows(unscored)]


def test_without_the_weights_the_run_says_so_once_at_the_start_and_trains_on(image_folder, tmp_path,
                                                                            monkeypatch, capsys):
    monkeypatch.setenv("IMPROVED_GAN_INCEPTION_WEIGHTS", "")  # unset: look in torch's cache ...
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # ... which is empty
    run = tmp_path / "run"
    assert _train(image_folder, run, *SCORED, "--epochs", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    said = [i for i, line in enumerate(lines) if "sample scores not computed" in line]
    assert len(said) == 1, lines
    message = lines[said[0]]
    assert said[0] < next(i for i, line in enumerate(lines) if line.startswith("epoch 1: "))  # at the start
    assert "training goes on without them" in message and "weights-inception-2015-12-05-6726825d.pth" in message
    assert str(tmp_path / "torch") in message and "IMPROVED_GAN_INCEPTION_WEIGHTS" in message
    assert message in (run / "log.txt").read_text()
    assert [row["epoch"] for row in _rows(run)] == [1]
    assert not any("inception_score_mean" in row for row in _rows(run))
    assert not (run / "scores.json").exists() and (run / "checkpoints" / "last.pt").is_file()
