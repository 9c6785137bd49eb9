"""A run whose discriminator overpowers its generator is reported as failed everywhere it is shown.

The failure is forced, not faked: tiny runs at lr 0.03 with D's input noise off, where the real detector
(runs/failures.py, `loss_unsup` below 0.05 from epoch 5 on) fires in the run's own metrics. Each test
checks that the flag a command shows is the one the detector computes from those metrics, so a run that
happened to fail at another epoch on another CPU kind still passes; and that the run does fail (epochs 5-10
of this configuration held `loss_unsup` at 0.008-0.046 on the machine that wrote this, every one below 0.05).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clitools import cli
from improved_gan.runs.failures import detect_failure

# D wins within a few dozen iterations: the released lr x 10 and no noise on D's input
FAILING = ["--set", "lr=0.03", "--set", "d_input_noise=0"]
TINY_FAILING = [
    "--dataset", "mnist5k", "--epochs", "10", "--iters-per-epoch", "4", "--batch-size", "20", "--labels", "20",
    "--precision", "fp32", "--no-progress", "--set", "init_batch_size=100", "--set", "sample_grid=16",
    "--set", "final_score_samples=0", "--set", "epoch_score_every=0", *FAILING,
]  # fmt: skip


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("failed") / "run"
    result = cli("train", "mnist-fm", *TINY_FAILING, "--out", str(run))
    failure = detect_failure(metrics(run))
    assert failure is not None, "the forced configuration did not fail: the tests below would prove nothing"
    return run, result, failure


def test_train_says_so_at_the_epoch_it_fails_and_marks_every_epoch(failed_run):
    run, result, failure = failed_run
    assert f"FAILED: D overpowered G at epoch {failure.epoch}: loss_unsup {failure.loss_unsup:.4f}" in result.stdout
    assert "preset mnist-fm-stable: 0 of 60 runs of the demo's setting" in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    for line, row in zip(lines, metrics(run)):
        assert ("FAILED" in line) == (row["epoch"] >= failure.epoch)
        assert row["failed"] == (row["epoch"] >= failure.epoch)


def test_the_log_and_tensorboard_hold_it(failed_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, _, failure = failed_run
    assert failure.describe() in (run / "log.txt").read_text()
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    flags = {e.step: e.value for e in events.Scalars("failed")}
    assert flags == {e: float(e >= failure.epoch) for e in range(1, 11)}
    texts = [e for e in events.Tensors("failure/text_summary")]
    assert [e.step for e in texts] == [failure.epoch]
    assert failure.describe() in texts[0].tensor_proto.string_val[0].decode()


def test_runs_lists_it_as_failed(failed_run):
    run, _, failure = failed_run
    listing = cli("runs", str(run.parent)).stdout
    assert "FAILED, finished" in listing and failure.describe() in listing
    (entry,) = [json.loads(line) for line in cli("runs", str(run.parent), "--json").stdout.splitlines()]
    assert entry["failed"] is True and entry["failure"] == failure.describe() and entry["status"] == "finished"


def test_report_says_it_first_and_marks_the_epochs(failed_run, tmp_path):
    run, _, failure = failed_run
    report = (run / "report.md").read_text()
    assert report.splitlines()[2].startswith(f"**This run FAILED: {failure.describe()}.**")
    assert f"| {failure.epoch} (failed) |" in report and f"| {failure.epoch - 1} |" in report
    import shutil

    comparison, copy = tmp_path / "compare.md", tmp_path / "copy"
    shutil.copytree(run, copy)
    cli("report", str(run), str(copy), "--out", str(comparison))
    assert comparison.read_text().count(f"**{failure.describe()}**") == 2


def test_a_resumed_failed_run_stays_failed(failed_run, tmp_path):
    import shutil

    run, _, failure = failed_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["epochs"] = 11
    (copy / "config.json").write_text(json.dumps(config))
    result = cli("train", "--resume", str(copy), "--no-progress")
    assert f"this run has FAILED already ({failure.describe()})" in result.stdout
    assert metrics(copy)[-1]["epoch"] == 11 and metrics(copy)[-1]["failed"] is True


def test_a_run_that_did_not_fail_is_never_marked(tmp_path):
    from tiny_run import TINY

    run = tmp_path / "run"
    result = cli("train", "mnist-fm", *TINY, "--out", str(run))  # 3 epochs: before the definition's epoch 5
    assert "FAILED" not in result.stdout and all(row["failed"] is False for row in metrics(run))
    assert "FAILED" not in cli("runs", str(tmp_path)).stdout
    assert "FAILED" not in (run / "report.md").read_text()


def test_a_labels_only_run_is_not_judged_by_the_game(tmp_path):
    run = tmp_path / "run"
    cli("train", "mnist-fm", *TINY_FAILING, "--set", "unsupervised_weight=0", "--out", str(run))
    assert all("failed" not in row for row in metrics(run))
    assert json.loads(cli("runs", str(tmp_path), "--json").stdout)["failed"] is False


def test_reproduce_table1_counts_failed_seeds_and_lists_them_apart(tmp_path):
    from tiny_run import TINY_TABLE1

    out = tmp_path / "table"
    cli("reproduce", "table1", *TINY_TABLE1, "--epochs", "10", *FAILING, "--labels", "20", "--seeds", "0",
        "--out", str(out))
    failure = detect_failure(metrics(out / "l20-s0"))
    assert failure is not None
    table = (out / "table1.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| 20 |"))
    assert row.split("|")[2:4] == [" 1 ", " 1 "]  # one seed, one failed
    assert f"- 20 labels, seed 0: {failure.describe()}" in table
