"""Which step ran, and in which precision, is recorded; a resume that would change either is refused."""

from __future__ import annotations

import json
import shutil

import torch
from clitools import cli

from improved_gan.runs.layout import CHECKPOINTS, CONFIG, LAST_CHECKPOINT, METRICS


def test_every_metrics_row_and_the_checkpoint_record_step_and_precision(tiny_run):
    rows = [json.loads(line) for line in (tiny_run / METRICS).read_text().splitlines()]
    assert {(row["step"], row["precision"]) for row in rows} == {("reference", "fp32")}
    state = torch.load(tiny_run / CHECKPOINTS / LAST_CHECKPOINT, weights_only=False)
    assert state["step_info"] == {"step": "reference", "precision": "fp32"}


def test_a_resume_that_would_change_the_step_is_refused_unless_allowed(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    config = json.loads((run / CONFIG).read_text())
    config["fast_step"] = True  # this machine would now run the fast step
    (run / CONFIG).write_text(json.dumps(config))
    refused = cli("resume", str(run), "--epochs", "4", "--no-progress", check=False)
    assert refused.returncode == 2
    assert "trained with the reference step in fp32" in refused.stderr
    assert "--allow-step-change" in refused.stderr and "Traceback" not in refused.stderr
    assert len((run / METRICS).read_text().splitlines()) == 3  # nothing trained, nothing lost
    allowed = cli("resume", str(run), "--epochs", "4", "--no-progress", "--allow-step-change")
    assert allowed.returncode == 0
    last = json.loads((run / METRICS).read_text().splitlines()[-1])
    assert last["epoch"] == 4 and last["step"] == "fast"
