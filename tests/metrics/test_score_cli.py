"""`improved-gan score` and `improved-gan classifier train` end to end, in a fresh interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from clitools import cli
from tiny_run import TINY

from improved_gan.metrics.classifier import save_classifier
from improved_gan.metrics.evaluate import evaluate_samples
from improved_gan.metrics.registry import KEY_MNIST_FD, KEY_MNIST_SCORE_MEAN, KEY_MNIST_SCORE_STD


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """A private cache and an empty torch cache: no classifier, no Inception weights."""
    return {
        "IMPROVED_GAN_CACHE": str(tmp_path / "cache"),
        "TORCH_HOME": str(tmp_path / "torch"),
        "IMPROVED_GAN_INCEPTION_WEIGHTS": "",
    }


@pytest.fixture
def classifier_file(tiny_classifier, tmp_path):
    return save_classifier(tiny_classifier, tmp_path / "classifier.pt")


def test_npz_scores_match_evaluate_samples(tmp_path, env, classifier_file, tiny_classifier, mnist_small):
    samples, reference = mnist_small.test[0][:500], mnist_small.train[0]
    np.savez(tmp_path / "samples.npz", x=samples)
    np.savez(tmp_path / "reference.npz", x=reference)
    out = cli(
        "score", str(tmp_path / "samples.npz"), "--reference", str(tmp_path / "reference.npz"),
        "--classifier", str(classifier_file), "--splits", "5", "--json", env=env,
    )  # fmt: skip
    entries = json.loads(out.stdout)
    expected = evaluate_samples(samples, reference=reference, classifier=tiny_classifier, splits=5)
    # another process with another thread count: the float32 outputs may round differently (~1e-7); the
    # score, a mean of exp(KL), amplifies that little (1e-6), FD by its cancellation of ~200 (1e-5); a
    # wrong split or a lost image moves them by >= 5e-4 (tests/metrics/test_evaluate_samples.py)
    assert entries["mnist_score"]["mean"] == pytest.approx(expected[KEY_MNIST_SCORE_MEAN], rel=1e-6)
    assert entries["mnist_score"]["std"] == pytest.approx(expected[KEY_MNIST_SCORE_STD], rel=1e-5)
    assert entries["mnist_fd"]["value"] == pytest.approx(expected[KEY_MNIST_FD], rel=1e-5)
    assert entries["mnist_score"]["n"] == 500 and entries["mnist_score"]["splits"] == 5
    assert entries["mnist_fd"]["reference"] == str(tmp_path / "reference.npz")
    assert not any((tmp_path).glob("scores.json"))


def test_run_folder_scores_are_merged_into_scores_json(tmp_path, env, classifier_file):
    run = tmp_path / "run"
    cli("train", "mnist-fm", *TINY, "--out", str(run))
    (run / "scores.json").write_text(json.dumps({"earlier": {"value": 1.0}}))
    out = cli("score", str(run), "--n", "200", "--classifier", str(classifier_file), "--device", "cpu", env=env)
    assert "mnist_score:" in out.stdout and "200 images vs mnist5k:train" in out.stdout
    scores = json.loads((run / "scores.json").read_text())
    assert scores["earlier"] == {"value": 1.0}
    assert scores["mnist_score"]["n"] == 200 and scores["mnist_score"]["seed"] == 0
    assert 1.0 <= scores["mnist_score"]["mean"] <= 10.0
    assert scores["mnist_fd"]["reference"] == "mnist5k:train" and scores["mnist_fd"]["value"] > 0
    assert list((tmp_path / "cache" / "reference-stats").glob("mnist_classifier-*-mnist5k-train.npz"))
    again = cli("score", str(run), "--n", "200", "--classifier", str(classifier_file), "--json", env=env)
    assert json.loads(again.stdout)["mnist_fd"] == scores["mnist_fd"]  # same seed, cached reference: same numbers


def _main_in_process(monkeypatch, env, *args: str) -> int:
    from improved_gan.cli.main import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return main(list(args))


def test_missing_inception_weights_stop_with_one_message(tmp_path, env, monkeypatch, capsys):
    np.savez(tmp_path / "cifar.npz", x=np.zeros((20, 32, 32, 3), np.uint8))
    assert _main_in_process(monkeypatch, env, "score", str(tmp_path / "cifar.npz")) == 2
    stderr = capsys.readouterr().err
    assert "weights-inception-2015-12-05-6726825d.pth" in stderr and "95,628,359 bytes" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_missing_classifier_says_how_to_train_it(tmp_path, env, monkeypatch, capsys):
    np.savez(tmp_path / "digits.npz", x=np.zeros((20, 28, 28, 1), np.uint8))
    assert _main_in_process(monkeypatch, env, "score", str(tmp_path / "digits.npz")) == 2
    assert "improved-gan classifier train" in capsys.readouterr().err


def test_wrong_metric_name_lists_the_valid_ones(tmp_path, env, monkeypatch, capsys):
    np.savez(tmp_path / "digits.npz", x=np.zeros((20, 28, 28, 1), np.uint8))
    assert _main_in_process(monkeypatch, env, "score", str(tmp_path / "digits.npz"), "--metrics", "inception") == 2
    assert "valid metrics: fid, is, mnist_fd, mnist_score" in capsys.readouterr().err


def test_fid_without_a_reference_asks_for_one(tmp_path, env, monkeypatch, capsys):
    np.savez(tmp_path / "cifar.npz", x=np.zeros((20, 32, 32, 3), np.uint8))
    assert _main_in_process(monkeypatch, env, "score", str(tmp_path / "cifar.npz"), "--metrics", "is,fid") == 2
    assert "fid compares with real images: name them with --reference" in capsys.readouterr().err


def test_a_classifier_trained_by_the_cli_scores_through_the_cli(tmp_path, env, shared_data):
    """The round trip as a user makes it: `classifier train` writes a classifier into the cache (a tiny one: 7
    steps; a shortened recipe is cached only when --out names the cache), and `score` loads it, named by
    --classifier and found in the cache. Its file holds plain types only, which the safe loader
    (weights_only=True) accepts: it stored torch.__version__ as a TorchVersion before."""
    cached_file = Path(env["IMPROVED_GAN_CACHE"]) / "classifiers" / "mnist-tiny.pt"
    out = cli("classifier", "train", "--data-dir", str(shared_data), "--epochs", "1", "--train-images", "1000",
              "--out", str(cached_file), env=env)  # fmt: skip
    assert "warning: below the 99.3%" in out.stdout and "a shortened recipe (1 epoch of 1,000 digits)" in out.stdout
    path = Path(out.stdout.split("saved ")[1].split("\n")[0])
    assert path == cached_file
    record = torch.load(path, weights_only=True)["record"]
    assert type(record["torch_version"]) is str and record["train_images"] == 1000
    assert record["options"]["epochs"] == 1
    source = ("mnist5k:test", "--n", "200", "--splits", "2", "--metrics", "mnist_score")
    named = cli("score", *source, "--classifier", str(path), "--json", env=env)
    cached = cli("score", *source, "--json", env=env)
    sha = out.stdout.split("weights sha256 ")[1][:16]
    assert json.loads(named.stdout) == json.loads(cached.stdout)
    assert json.loads(named.stdout)["mnist_score"]["network"].startswith(f"mnist_classifier {sha}")


def test_classifier_train_refuses_a_recipe_that_cannot_train(tmp_path, env, capsys, monkeypatch):
    from clitools import one_line_error

    monkeypatch.setenv("IMPROVED_GAN_CACHE", env["IMPROVED_GAN_CACHE"])
    one_line_error(capsys, ["classifier", "train", "--epochs", "0"], "--epochs must be at least 1")
    one_line_error(capsys, ["classifier", "train", "--train-images", "5"], "--train-images must be from 128")
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_classifier_train_reaches_the_documented_accuracy(tmp_path, env, shared_data):
    """The reference recipe, as a user runs it: >= 99.3% on the 10,000 MNIST test digits (docs/metrics.md)."""
    out = cli("classifier", "train", "--data-dir", str(shared_data), "--out", str(tmp_path / "c.pt"), env=env)
    print(out.stdout)
    accuracy = float(out.stdout.split("test accuracy ")[1].split("%")[0]) / 100
    assert accuracy >= 0.993
    record = torch.load(tmp_path / "c.pt", weights_only=True)["record"]  # plain types only
    assert record["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # which kernels made the bits


@pytest.mark.slow
def test_classifier_bits_follow_the_cpu_kernels_and_nothing_else(shared_data):
    """The recipe on a short schedule is bit-identical in two processes with the same kernels, and
    another kernel selection (ATen without vector kernels) changes the bits: a classifier trained on
    another CPU kind differs from the reference by the kernels, not by a bug (docs/metrics.md)."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "classifier_bits.py"
    out = subprocess.run(
        [sys.executable, str(script), "--data-dir", str(shared_data), "--only", "3"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    digests = [line.split()[-1] for line in out.stdout.splitlines()[2:]]
    assert len(digests) == 3
    assert digests[0] == digests[1] != digests[2]
