"""`improved-gan train / eval / sample / report` end to end on a tiny real run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from clitools import cli
from tiny_run import TINY


def test_run_folder_describes_itself(tiny_run):
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["preset"] == "mnist-fm" and config["labels"] == 20 and config["dataset"] == "mnist5k"
    rows = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert row["test_examples"] == 1000 and 0 <= row["test_errors"] <= 1000
        assert np.isfinite(row["loss_d"]) and np.isfinite(row["loss_g"])
    for epoch in (1, 2, 3):
        grid = Image.open(tiny_run / "samples" / f"epoch-{epoch:04d}.png")
        assert grid.mode == "L" and grid.size[0] > 4 * 28
    assert (tiny_run / "checkpoints" / "last.pt").is_file()
    assert any((tiny_run / "tensorboard").iterdir())
    report = (tiny_run / "report.md").read_text()
    assert "test errors" in report and "test_errors.png" in report
    assert (tiny_run / "test_errors.png").is_file()


def test_eval_json_matches_the_last_epoch(tiny_run):
    result = json.loads(cli("eval", str(tiny_run), "--json").stdout)
    last = json.loads((tiny_run / "metrics.jsonl").read_text().splitlines()[-1])
    assert result["epoch"] == 3
    assert result["test_examples"] == 1000
    assert result["test_errors"] == last["test_errors"]


def test_sample_writes_a_grid_and_arrays(tiny_run, tmp_path):
    cli("sample", str(tiny_run), "--n", "25", "--out", str(tmp_path / "g.png"))
    assert Image.open(tmp_path / "g.png").size == (5 * 30 + 2, 5 * 30 + 2)
    cli("sample", str(tiny_run), "--n", "30", "--out", str(tmp_path / "s.npz"))
    x = np.load(tmp_path / "s.npz")["x"]
    assert x.shape == (30, 28, 28, 1) and x.dtype == np.uint8


def test_report_compares_runs(tiny_run, tmp_path):
    out = tmp_path / "cmp.md"
    other = tmp_path / "copy"  # a second run: the same run named twice is refused (it would count twice)
    shutil.copytree(tiny_run, other)
    cli("report", str(tiny_run), str(other), "--out", str(out))
    assert out.read_text().count("mnist-fm") >= 2 and out.with_suffix(".png").is_file()


def test_existing_run_is_not_overwritten(tiny_run):
    result = cli("train", "mnist-fm", *TINY, "--out", str(tiny_run), check=False)
    assert result.returncode == 2 and "improved-gan resume" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "mnist-gm"], "unknown preset 'mnist-gm'"),
        (["train", "mnist-fm", "--dataset", "mnist7"], "mnist7"),
        (["train", "mnist-fm", "--dataset", "mnist5k", "--labels", "5000"], "labels"),
        (["train", "mnist-fm", "--dataset", "mnist5k", "--labels", "15"], "15"),
        (["train", "mnist-fm", "--set", "lr=fast"], "lr"),
        (["train", "mnist-fm", "--epochs", "0"], "epochs must be positive"),
        (["eval", "/nonexistent/run"], "config.json"),
    ],
)
def test_bad_input_gives_one_clear_error(args, message, tmp_path):
    result = cli(*args, "--out", str(tmp_path / "r"), check=False) if args[0] == "train" else cli(*args, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr


def test_run_without_the_mnist_classifier_says_how_to_score(tmp_path):
    """The end-of-run sample scores need the cached classifier; without it the run still
    finishes and says how to get the scores."""
    args = [a if a != "final_score_samples=0" else "final_score_samples=200" for a in TINY]
    result = cli("train", "mnist-fm", *args, "--epochs", "1", "--out", str(tmp_path / "r"),
                 env={"IMPROVED_GAN_CACHE": str(tmp_path / "empty-cache")})
    assert "sample scores not computed" in result.stdout and "classifier" in result.stdout
    assert not (tmp_path / "r" / "scores.json").exists()


def test_damaged_checkpoint_gives_one_clear_error(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "damaged"
    shutil.copytree(tiny_run, run)
    checkpoint = run / "checkpoints" / "last.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])  # truncated, as by a full disk
    (run / "checkpoints" / "previous.pt").unlink()  # and nothing to fall back to
    result = cli("eval", str(run), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "last.pt" in result.stderr and "damaged" in result.stderr


@pytest.mark.parametrize(
    "preset, says",
    [
        ("mnist-fm", "training step: fast step, "),
        ("mnist-mbd", "training step: reference step, fp32 (fast_step=true, but the fast step does not implement"),
    ],
)
def test_asking_for_the_fast_step_says_which_step_runs(preset, says, tmp_path):
    """``fast_step=true`` where the fast step applies, and where it does not: no silent fallback."""
    result = cli("train", preset, *TINY, "--epochs", "1", "--set", "fast_step=true", "--out", str(tmp_path / "r"))
    assert says in result.stdout
    assert says in (tmp_path / "r" / "log.txt").read_text()


def test_tensorboard_has_iteration_losses_sample_images_and_hparams(tiny_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tiny_run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"iteration/loss_d", "iteration/loss_g", "test_errors"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("iteration/loss_d")] == [0, 4, 8]  # every 25th of 4-iteration epochs
    assert [e.step for e in events.Images("samples")] == [1, 2, 3]
    assert events.PluginTagToContent("hparams"), "no HParams summary"


def test_train_resume_says_it_is_the_resume_command_after_it_ran(tiny_run, tmp_path):
    """The alias's note comes after the command (before a refusal it made the refusal two lines)."""
    run = shutil.copytree(tiny_run, tmp_path / "run")
    result = cli("train", "--resume", str(run), "--no-progress")
    assert result.stderr.splitlines()[-1] == "note: `improved-gan train --resume RUN` is `improved-gan resume RUN`"
