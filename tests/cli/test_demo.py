"""`improved-gan demo`: the same labels two ways, both numbers and the gain (training stubbed here;
`make demo` runs it for real)."""

from __future__ import annotations

from pathlib import Path

from improved_gan.cli.commands import demo
from improved_gan.cli.main import main
from improved_gan.training.trainer import TrainResult


def test_the_two_runs_differ_only_in_the_unlabeled_part_of_the_loss():
    configs = demo.demo_configs(epochs=7, labels=100, seed=3)
    alone, gan = configs[demo.LABELS_ONLY].to_dict(), configs[demo.K_PLUS_1].to_dict()
    assert {k for k in alone if alone[k] != gan[k]} == {"unsupervised_weight"}
    assert alone["unsupervised_weight"] == 0 and gan["unsupervised_weight"] == 1
    assert gan["dataset"] == "mnist5k" and gan["labels"] == 100 and gan["epochs"] == 7 and gan["seed"] == 3


def test_demo_prints_both_numbers_and_the_gain(tmp_path, capsys, monkeypatch):
    errors = {demo.LABELS_ONLY: 260, demo.K_PLUS_1: 200}
    trained = []

    def ensure_trained(config, run_dir, *, progress=True):
        from improved_gan.config import save_config

        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True)
        save_config(config, run_dir / "config.json")
        e = errors[run_dir.name]
        row = {"epoch": config.epochs, "iterations": 40, "test_errors": e, "test_examples": 1000,
               "test_error_rate": e / 1000, "loss_d": 1.0, "loss_g": 1.0, "seconds": 1.0}
        (run_dir / "metrics.jsonl").write_text(__import__("json").dumps(row) + "\n")
        trained.append(run_dir.name)
        return TrainResult(run_dir, config.epochs, row, None)

    monkeypatch.setattr("improved_gan.training.trainer.ensure_trained", ensure_trained)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--epochs", "5", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert trained == [demo.LABELS_ONLY, demo.K_PLUS_1]
    assert "260  (26.0%)" in out and "200  (20.0%)" in out and "gain: 60 fewer errors" in out
    assert (tmp_path / "demo" / "comparison.png").is_file()
