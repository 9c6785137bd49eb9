"""A third round of a new user's bad inputs (issue 17), on the training side: `train`, `runs`, `report`,
`sample`, `eval`, `reproduce table1`, `ablate`, and run folders damaged by hand. Each case here, before,
was a traceback, destroyed a run's file, silently ignored a flag or a value, or said something misleading.

In-process (``main([...])``) with hand-made run folders (``fake_run``); nothing trains.
"""

from __future__ import annotations

import json

import pytest
import torch
from clitools import fake_run, files, one_line_error

from improved_gan.cli.main import main

TRAIN = ["train", "mnist-fm", "--dataset", "mnist5k", "--epochs", "1", "--iters-per-epoch", "2", "--no-progress"]
TABLE1 = ["reproduce", "table1", "--labels", "20", "--seeds", "0", "--dry-run"]


def _checkpointed(folder, **kwargs):
    """A fake run with a last.pt (and, by hand, a previous.pt) of the right shape."""
    run = fake_run(folder, checkpoint=True, **kwargs)
    (run / "checkpoints" / "previous.pt").write_bytes((run / "checkpoints" / "last.pt").read_bytes())
    return run


def _status(capsys, folder) -> dict:
    assert main(["runs", str(folder), "--json"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[0])


# -- config.json edited by hand -------------------------------------------------------------------

# -- config values and flags that were silently ignored -------------------------------------------

# -- --out inside a run ---------------------------------------------------------------------------

# -- report ---------------------------------------------------------------------------------------

# -- sample --overwrite of a run's own files -------------------------------------------------------

# -- metrics.jsonl with odd rows --------------------------------------------------------------------

# -- files and folders of the wrong kind ----------------------------------------------------------

# -- running.pid ----------------------------------------------------------------------------------

# -- eval -----------------------------------------------------------------------------------------

# -- demo -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("inside", ["", "samples"])
def test_demo_out_a_run_folder_is_refused_before_the_workers_start(inside, tmp_path, capsys):
    """`demo --out RUN` started both runs inside another run's folder."""
    run = _checkpointed(tmp_path / "run")
    before = files(run)
    one_line_error(capsys, ["demo", "--out", str(run / inside), "--epochs", "1", "--no-progress"],
                   "lies inside the run folder", "nothing was written")
    assert files(run) == before


# -- reproduce table1 -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "argv, says",
    [(["--jobs", "0"], "--jobs must be at least 1"),  # a ZeroDivisionError traceback
     (["--jobs", "-1"], "--jobs must be at least 1"),  # "expected wall time ... -24.2 h"
     (["--stack", "0"], "--stack must be at least 1"),
     (["--stack", "1", "--jobs", "2"], "--jobs 2 would be ignored"),
     (["--stack", "5"], "more than the 1 seeds"),  # said only without --dry-run
     (["--set", "labels=50"], "give them with --labels"),  # each run's own labels won, silently
     (["--set", "seed=3"], "give them with --seeds"),
     (["--set", "dataset=mnist"], "--dataset mnist5k and --set dataset=mnist both set dataset"),
     (["--set", "epochs=3", "--epochs", "2"], "both set epochs"),
     (["--data-dir", "/nowhere"], "does not apply to mnist5k"),
     (["--dataset", "cifar10"], "Table 1 is an MNIST experiment")],  # planned 500-iteration CIFAR epochs
)
def test_reproduce_refuses_what_it_would_ignore_or_misread(argv, says, tmp_path, capsys):
    dataset = [] if "--dataset" in argv else ["--dataset", "mnist5k"]
    one_line_error(capsys, [*TABLE1, *dataset, *argv, "--out", str(tmp_path / "t")], says)
    assert not (tmp_path / "t").exists()


def test_reproduce_seeds_too_many_is_refused_at_once(capsys):
    """`--seeds 0-100000` planned for over five minutes (a quadratic check), 0-100000000 filled the memory."""
    from improved_gan.cli.main import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "table1", "--seeds", "0-100000000"])
    assert "at most 1,000 seeds" in capsys.readouterr().err


@pytest.mark.parametrize("inside", ["", "tensorboard"])
def test_reproduce_out_a_run_folder_is_refused(inside, tmp_path, capsys):
    """`reproduce table1 --out RUN` planned its runs inside another run's folder."""
    run = _checkpointed(tmp_path / "run")
    one_line_error(capsys, [*TABLE1, "--dataset", "mnist5k", "--out", str(run / inside)], "run folder", "outside it")


# -- ablate ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, says", [(["--n", "0"], "--n must be at least 10"),
                                        (["--out", "{tmp}/notes.txt"], "is a file, not a folder"),
                                        (["--weights", "{tmp}/none.pth"], "none.pth does not exist"),
                                        (["--weights", "{tmp}"], "is a folder")])
def test_ablate_dry_run_checks_what_the_run_checks(argv, says, tmp_path, capsys):
    """`ablate table3 --dry-run` printed the configs for an --n or --out the real command refuses."""
    (tmp_path / "notes.txt").write_text("mine")
    argv = [a.format(tmp=tmp_path) for a in argv]
    out = [] if "--out" in argv else ["--out", str(tmp_path / "a")]
    one_line_error(capsys, ["ablate", "table3", "--dry-run", *out, *argv], says)
    assert (tmp_path / "notes.txt").read_text() == "mine"


