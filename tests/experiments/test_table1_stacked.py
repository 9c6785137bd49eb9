"""Table 1 with the stacked engine: every seed still gets an ordinary run folder, and a stack continues exactly."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from argmax_ties import error_count_bounds
from clitools import cli
from tiny_run import TINY_TABLE1 as TINY

from improved_gan.experiments.presets import get_preset
from improved_gan.training.evaluate import evaluate_run, load_run_classifier
from improved_gan.training.stacked.run_folders import train_stack

CONFIG = dataclasses.replace(
    get_preset("mnist-fm"), dataset="mnist5k", epochs=2, iters_per_epoch=4, batch_size=20, labels=20,
    init_batch_size=100, sample_grid=16, final_score_samples=0, epoch_score_every=0, precision="fp32", device="cpu",
)  # fmt: skip


def rows(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def test_reproduce_with_a_stack_writes_ordinary_run_folders(tmp_path):
    result = cli("reproduce", "table1", *TINY, "--labels", "20", "--seeds", "0-2", "--stack", "2", "--out", str(tmp_path))
    assert result.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        "l20-s0", "l20-s1", "l20-s2", "stack-l20-s0-1", "stack-l20-s2-2",
    ]  # fmt: skip
    for seed in range(3):
        run = tmp_path / f"l20-s{seed}"
        last = rows(run)[-1]
        assert last["epoch"] == 2 and last["step"] == "stacked"
        assert (run / "samples" / "epoch-0002.png").is_file() and (run / "report.md").is_file()
        # the copy's checkpoint is a single run's: eval reads it and finds the engine's numbers, up to the
        # rows whose two best logits tie within rounding: the engine's vmapped float32 pass and one network's
        # round differently (~1e-7 relative per logit, more on another CPU's kernels); 1e-5 of the largest
        # logit is ~100x that (no row of these 1000 is that close), while another seed's weights differ
        # by 20-110 errors
        evaluated = evaluate_run(run, device="cpu")
        for which, key in (("raw", "test_errors_raw"), ("ema", "test_errors")):
            run_d = load_run_classifier(run, which=which, device="cpu")
            size, x_test, labels = run_d.config.eval_batch_size, run_d.x_test, run_d.y_test.numpy()
            with torch.no_grad():  # eval's pass: its batches, eval mode
                batches = [run_d.discriminator.eval()(x_test[i : i + size]).logits for i in range(0, len(x_test), size)]
            logits = torch.cat(batches).double().numpy()
            fewest, most = error_count_bounds(logits, labels, margin=1e-5 * np.abs(logits).max())
            assert evaluated[key] == int((logits.argmax(1) != labels).sum())  # one path, one machine: exact
            assert fewest <= last[key] <= most, (which, fewest, last[key], most)
    assert "| 20 | 3 | 0 | 2 | ema |" in (tmp_path / "table1.md").read_text()  # labels, seeds, failed, epochs, D


@pytest.mark.slow  # the engine's own exact resume is in the default suite (tests/training/test_stacked_state.py)
def test_a_stopped_stack_continues_exactly(tmp_path):
    straight = [tmp_path / "a" / f"s{s}" for s in (0, 1)]
    train_stack(CONFIG, [0, 1], straight, stack_dir=tmp_path / "a" / "stack", progress=False)
    stopped = [tmp_path / "b" / f"s{s}" for s in (0, 1)]
    train_stack(dataclasses.replace(CONFIG, epochs=1), [0, 1], stopped, stack_dir=tmp_path / "b" / "stack", progress=False)
    train_stack(CONFIG, [0, 1], stopped, stack_dir=tmp_path / "b" / "stack", progress=False)
    assert [rows(run) for run in stopped] == [rows(run) for run in straight]


def test_a_stack_folder_of_other_seeds_is_refused(tmp_path):
    from improved_gan.errors import UserError

    train_stack(dataclasses.replace(CONFIG, epochs=1), [0, 1], [tmp_path / "s0", tmp_path / "s1"],
                stack_dir=tmp_path / "stack", progress=False)  # fmt: skip
    with pytest.raises(UserError, match="holds another stack"):
        train_stack(CONFIG, [0, 2], [tmp_path / "s0", tmp_path / "s2"], stack_dir=tmp_path / "stack", progress=False)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--stack", "4"], "--stack 4 is more than the 2 seeds"),
        (["--stack", "0"], "stack"),
        (["--stack", "2", "--set", "minibatch_kernels=20"], "minibatch"),
    ],
)
def test_bad_stacks_are_one_line(args, says, tmp_path, capsys):
    from improved_gan.cli.main import main

    status = main(["reproduce", "table1", *TINY, "--labels", "20", "--seeds", "0-1", *args, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and says in err and "Traceback" not in err
