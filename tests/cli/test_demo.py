"""`improved-gan demo`: the same labels two ways, both numbers and the gain; the summary with stubbed
training, and the real thing for one and two epochs in two worker processes."""

from __future__ import annotations

import json
from pathlib import Path

from clitools import cli
from improved_gan.cli.commands import demo
from improved_gan.cli.main import main


def test_the_two_runs_differ_only_in_the_unlabeled_part_of_the_loss():
    configs = demo.demo_configs(epochs=7, labels=100, seed=3)
    alone, gan = configs[demo.LABELS_ONLY].to_dict(), configs[demo.K_PLUS_1].to_dict()
    assert {k for k in alone if alone[k] != gan[k]} == {"unsupervised_weight"}
    assert alone["unsupervised_weight"] == 0 and gan["unsupervised_weight"] == 1
    assert gan["dataset"] == "mnist5k" and gan["labels"] == 100 and gan["epochs"] == 7 and gan["seed"] == 3


def test_demo_prints_both_numbers_and_the_gain(tmp_path, capsys, monkeypatch):
    """The summary's arithmetic, with the training replaced by two finished metrics files."""
    import json

    from improved_gan.config import save_config

    errors = {demo.LABELS_ONLY: 260, demo.K_PLUS_1: 200}
    trained = []

    def train_in_parallel(jobs, *, processes, progress, epoch_lines, desc):
        for job in jobs:
            job.folder.mkdir(parents=True)
            save_config(job.config, job.folder / "config.json")
            e = errors[job.name]
            row = {"epoch": job.config.epochs, "iterations": 40, "test_errors": e, "test_examples": 1000,
                   "test_error_rate": e / 1000, "loss_d": 1.0, "loss_g": 1.0, "seconds": 1.0}
            (job.folder / "metrics.jsonl").write_text(json.dumps(row) + "\n")
            trained.append(job.name)

    monkeypatch.setattr("improved_gan.training.parallel_runs.train_in_parallel", train_in_parallel)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--epochs", "5", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert trained == [demo.LABELS_ONLY, demo.K_PLUS_1]
    assert "260  (26.0%)" in out and "200  (20.0%)" in out
    assert "difference: 60 fewer errors with the GAN (23% of the labels-only errors), one seed's" in out  # 5 epochs: not measured
    assert (tmp_path / "demo" / "comparison.png").is_file()


def test_demo_trains_both_runs_side_by_side_and_continues(tmp_path):
    """For real, one epoch of each run in two worker processes: a line per run and epoch (also with
    --no-progress), both numbers, the grid; a second call with more epochs continues both runs, and
    a third with another seed is refused in one line, every file as it was."""
    out_dir = tmp_path / "demo"
    first = cli("demo", "--out", str(out_dir), "--epochs", "1", "--no-progress")
    assert f"{demo.LABELS_ONLY}: epoch 1/1: test errors" in first.stdout
    assert f"{demo.K_PLUS_1}: epoch 1/1: test errors" in first.stdout
    assert "labels only (a classifier on the 100 digits)" in first.stdout and "difference: " in first.stdout
    assert (out_dir / demo.K_PLUS_1 / "samples" / "epoch-0001.png").is_file()
    assert (out_dir / "comparison.png").is_file()
    second = cli("demo", "--out", str(out_dir), "--epochs", "2", "--no-progress")
    assert f"{demo.K_PLUS_1}: epoch 2/2" in second.stdout and "epoch 1/" not in second.stdout
    for name in (demo.LABELS_ONLY, demo.K_PLUS_1):
        assert [json.loads(line)["epoch"] for line in (out_dir / name / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    before = {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    other = cli("demo", "--out", str(out_dir), "--epochs", "2", "--seed", "3", "--no-progress", check=False)
    assert other.returncode == 2 and other.stdout == ""
    assert other.stderr.strip() == f"error: {out_dir / demo.LABELS_ONLY} holds a run of another configuration: seed=0 (now 3); choose another folder"
    assert {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()} == before


def test_ctrl_c_says_how_to_continue_the_demo(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):  # after one run's first checkpoint
        checkpoint = tmp_path / "demo" / demo.K_PLUS_1 / "checkpoints" / "last.pt"
        checkpoint.parent.mkdir(parents=True)
        checkpoint.write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr("improved_gan.training.parallel_runs.train_in_parallel", interrupted)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err == "interrupted: the last checkpoint is kept; run the same command again to continue both runs\n"


def test_what_the_data_cannot_give_is_one_line_before_any_worker_starts(tmp_path, capsys):
    """`demo --labels 5000` spawned both workers, drew a bar, and 14 s later printed the error on the bar's line."""
    from clitools import one_line_error

    one_line_error(capsys, ["demo", "--labels", "5000", "--out", str(tmp_path / "demo")], "ask for at most 4000")
    assert not (tmp_path / "demo").exists()


def test_a_comparison_of_the_users_is_refused_before_training(tmp_path, capsys):
    from clitools import one_line_error

    (tmp_path / "comparison.md").write_text("my notes")
    one_line_error(capsys, ["demo", "--out", str(tmp_path)], "comparison.md exists and was not written by")
    assert [p.name for p in tmp_path.iterdir()] == ["comparison.md"]


def test_the_verdict_claims_a_gain_only_beyond_the_measured_spread(monkeypatch):
    from improved_gan.runs.failures import Failure

    monkeypatch.setattr(demo, "MEASURED_SPREAD", {(100, 80): (40, "over seeds 0-4 on AVX2")})
    assert "gain: 41 fewer errors" in demo.verdict(41, 250, failure=None, labels=100, epochs=80)
    assert "made the classifier better" in demo.verdict(41, 250, failure=None, labels=100, epochs=80)
    within = demo.verdict(40, 250, failure=None, labels=100, epochs=80)
    assert "within the seed-to-seed spread of 40" in within and "noise, not a gain" in within
    elsewhere = demo.verdict(90, 250, failure=None, labels=100, epochs=60)
    assert "one seed's" in elsewhere and "100 labels and 80 epochs" in elsewhere and "better" not in elsewhere
    worse = demo.verdict(-3, 250, failure=None, labels=100, epochs=80)
    assert "3 more errors with the GAN" in worse and "noise, not a gain" in worse
    failed = demo.verdict(90, 250, failure=Failure(12, 0.007, 7.9), labels=100, epochs=80)
    assert "the K+1 GAN FAILED: D overpowered G at epoch 12" in failed and "better" not in failed


def test_a_demo_whose_gan_fails_says_so(tmp_path, capsys, monkeypatch):
    """For real, in worker processes: the demo's runs at a learning rate that makes D win (the detector fires
    on the K+1 run's own metrics), the summary says FAILED and claims nothing."""
    from improved_gan.config import apply_overrides
    from improved_gan.runs.failures import detect_failure
    from improved_gan.runs.layout import read_metrics

    real = demo.demo_configs
    forced = {"lr": 0.03, "d_input_noise": 0.0, "iters_per_epoch": 4, "batch_size": 20, "init_batch_size": 100,
              "sample_grid": 16, "precision": "fp32"}

    def failing_configs(**kwargs):
        return {name: apply_overrides(config, forced).validate() for name, config in real(**kwargs).items()}

    monkeypatch.setattr(demo, "demo_configs", failing_configs)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--epochs", "10", "--labels", "20", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    failure = detect_failure(read_metrics(out / demo.K_PLUS_1))
    assert failure is not None
    assert f"the K+1 GAN FAILED: {failure.describe()}" in printed
    assert "made the classifier better" not in printed and "FAILED" in printed.split("K+1 GAN (+")[1].splitlines()[0]


def test_the_measured_spread_is_the_one_the_docs_report():
    """The demo's spread at its default setting is docs/results.md's, measured on named seeds (not a chosen number)."""
    from pathlib import Path

    spread, where = demo.MEASURED_SPREAD[(100, demo.DEFAULT_EPOCHS)]
    results = " ".join((Path(__file__).resolve().parents[2] / "docs" / "results.md").read_text().split())
    assert f"largest seed-to-seed difference is {spread}" in results and "runs (seeds 0-" in where


def test_a_demo_stopped_before_any_checkpoint_does_not_say_one_was_kept(tmp_path, capsys, monkeypatch):
    """Stopped before either run finished an epoch, it said "the last checkpoint is kept; run the same command
    again to continue both runs", with no run folder there."""
    from improved_gan.cli.main import main
    from improved_gan.training import parallel_runs

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel_runs, "train_in_parallel", stopped)
    assert main(["demo", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "demo")]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == (
        "interrupted before either run finished its first epoch, so no checkpoint was kept; run the same command "
        "again to start over")
