"""Training on train-minus-validation and counting errors on the validation split."""

from __future__ import annotations

import json

from clitools import cli
from tiny_run import TINY


def test_validation_split_run(shared_data, tmp_path):
    run = tmp_path / "val"
    args = [a if a != "mnist5k" else "mnist" for a in TINY]
    cli("train", "mnist-fm", *args, "--epochs", "1", "--data-dir", str(shared_data), "--out", str(run),
        "--set", "train_split=train-minus-validation", "--set", "eval_split=validation")  # fmt: skip
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["test_examples"] == 10_000  # the last 10,000 of the 60,000 training digits
    report = (run / "report.md").read_text()
    assert "trained on the train-minus-validation split, errors counted on the validation split" in report


def test_validation_without_holding_it_out_is_refused(tmp_path):
    result = cli("train", "mnist-fm", *TINY, "--set", "eval_split=validation", "--out", str(tmp_path / "r"),
                 check=False)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "eval_split=validation needs train_split=train-minus-validation" in result.stderr


def test_unknown_split_names_the_valid_ones(tmp_path):
    result = cli("train", "mnist-fm", *TINY, "--set", "eval_split=dev", "--out", str(tmp_path / "r"), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no split 'dev'" in result.stderr and "validation" not in result.stderr  # mnist5k has none
