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

def test_a_config_json_missing_a_field_is_refused_not_filled_with_its_default(tmp_path, capsys):
    """config.json without "epochs": `train --resume` trained on to the default 300 epochs (exit 0, minutes of
    work, config.json rewritten), and `runs` listed the run as 3/300; `{}` was a 'custom' run on full MNIST."""
    run = _checkpointed(tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    del config["epochs"]
    (run / "config.json").write_text(json.dumps(config))
    before = files(run)
    one_line_error(capsys, ["resume", str(run), "--no-progress"], "lacks epochs", "restore them")
    assert files(run) == before
    status = _status(capsys, run)
    assert status["status"] == "damaged" and "lacks epochs" in status["problem"]


def test_a_config_json_with_fewer_epochs_than_trained_is_refused(tmp_path, capsys, monkeypatch):
    """epochs edited from 3 to 2 after 3 were trained: resume said "has trained all 2 epochs", then "after 3"."""
    from improved_gan.training import checkpoint_fit

    monkeypatch.setattr(checkpoint_fit, "check_checkpoint_fits", lambda *args, **kwargs: None)  # a fake checkpoint
    run = _checkpointed(tmp_path / "run", epochs_done=2, epochs=2)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "epochs": 1}))
    before = files(run)
    one_line_error(capsys, ["resume", str(run), "--no-progress"], "says epochs 1",
                   "has trained 2 epochs already", "nothing was changed")
    assert files(run) == before


def test_a_config_json_of_an_older_version_still_reads(tmp_path):
    """Fields added since the first runs (ADDED_FIELDS) may be absent: they mean their default."""
    from improved_gan.config import ADDED_FIELDS, load_config

    run = fake_run(tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k not in ADDED_FIELDS}))
    assert load_config(run / "config.json").epochs == 2


# -- config values and flags that were silently ignored -------------------------------------------

# -- --out inside a run ---------------------------------------------------------------------------

# -- report ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("second", ["run", "run/", "link"])
def test_report_refuses_a_run_named_twice(second, tmp_path, capsys):
    """`report a a --out cmp.md` (or a link to a) compared a run with itself, counting it twice over seeds."""
    run = fake_run(tmp_path / "run")
    (tmp_path / "link").symlink_to(run)
    one_line_error(capsys, ["report", str(run), str(tmp_path / second), "--out", str(tmp_path / "c.md")],
                   "are the same run")
    assert not (tmp_path / "c.md").exists()


def test_report_out_inside_a_run_is_refused(tmp_path, capsys):
    """`report a b --out a/cmp.md` put files into run a that its trainer does not write."""
    runs = [fake_run(tmp_path / name) for name in ("a", "b")]
    before = files(runs[0])
    one_line_error(capsys, ["report", *map(str, runs), "--out", str(runs[0] / "cmp.md")], "lies inside the run")
    assert files(runs[0]) == before


# -- sample --overwrite of a run's own files -------------------------------------------------------

@pytest.mark.parametrize("name, fmt", [("config.json", "npz"), ("metrics.jsonl", "npz"),
                                       ("checkpoints/last.pt", "npz"), ("samples/epoch-0001.png", "grid")])
def test_sample_overwrite_never_replaces_a_runs_own_file(name, fmt, tmp_path, capsys):
    """`sample RUN --out RUN/config.json --format npz --overwrite` wrote an .npz over the run's config."""
    run = _checkpointed(tmp_path / "run")
    (run / "samples").mkdir()
    (run / "samples" / "epoch-0001.png").write_bytes(b"a grid")
    before = files(run)
    one_line_error(capsys, ["sample", str(run), "--out", str(run / name), "--format", fmt, "--overwrite"],
                   "is a file of the run", "never replaces a run's own files")
    assert files(run) == before


# -- metrics.jsonl with odd rows --------------------------------------------------------------------

@pytest.mark.parametrize(
    "rows, says",
    [([{"epoch": -1}], "epoch -1 is not an epoch number"),  # listed as finished
     ([{"epoch": True}], "epoch True is not an epoch number"),  # counted as epoch 1
     ([{"epoch": 2}, {"epoch": 1}], "epoch 1 comes after epoch 2"),  # listed as unfinished at epoch 1
     ([{"epoch": 1, "test_errors": "many", "test_examples": 0}], "test_errors 'many' is not a number"),  # report:
     # a TypeError traceback
     ([{"epoch": 1, "loss_d": "nan?"}], "loss_d 'nan?' is not a number")],
)
def test_odd_metrics_rows_are_named(rows, says, tmp_path, capsys):
    run = fake_run(tmp_path / "run")
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    one_line_error(capsys, ["report", str(run)], says, "improved-gan resume")
    status = _status(capsys, run)
    assert status["status"] == "damaged" and says in status["problem"]


def test_blank_lines_in_metrics_are_fine(tmp_path, capsys):
    run = fake_run(tmp_path / "run", epochs_done=2)
    (run / "metrics.jsonl").write_text("\n" + (run / "metrics.jsonl").read_text().replace("\n", "\n\n"))
    assert _status(capsys, run)["epochs_done"] == 2


@pytest.mark.parametrize("metrics, says", [("", "metrics.jsonl holds no epoch"),
                                           ('{"epoch": 1}\n{"epoch": 99}\n', "reaches epoch 99")])
def test_runs_takes_the_checkpoints_epoch_when_the_metrics_disagree(metrics, says, tmp_path, capsys):
    """An emptied metrics.jsonl listed a finished run as 0/2 unfinished; one reaching epoch 99 as 99/2."""
    run = _checkpointed(tmp_path / "run", epochs_done=2)
    (run / "metrics.jsonl").write_text(metrics)
    status = _status(capsys, run)
    assert (status["status"], status["epochs_done"]) == ("finished", 2) and says in status["problem"]


# -- files and folders of the wrong kind ----------------------------------------------------------

@pytest.mark.parametrize("path, kind", [("metrics.jsonl", "dir"), ("checkpoints/last.pt", "dir"),
                                        ("running.pid", "dir"), ("samples", "file")])
def test_a_folder_where_the_trainer_writes_a_file_is_named_before_any_work(path, kind, tmp_path, capsys,
                                                                           monkeypatch):
    """`train --resume` loaded the data, then failed on "Is a directory: RUN/checkpoints/.last.pt.x3f.tmp";
    `runs` listed such a run as unfinished 0/2 (metrics.jsonl a folder) or finished (running.pid a folder)."""
    from improved_gan.training import data_source

    monkeypatch.setattr(data_source, "load_experiment_data", lambda *a, **k: pytest.fail("loaded the data first"))
    run = _checkpointed(tmp_path / "run")
    target = run / path
    if target.exists():
        target.unlink()
    target.mkdir() if kind == "dir" else target.write_text("x")
    word = "a folder where the trainer writes a file" if kind == "dir" else "a file where the trainer writes a folder"
    one_line_error(capsys, ["resume", str(run), "--epochs", "3", "--no-progress"], f"{path} is {word}",
                   "nothing was changed")
    status = _status(capsys, run)
    assert status["status"] == "damaged" and f"{path} is a f" in status["problem"]


def test_checkpoints_a_file_is_said(tmp_path, capsys):
    """It said "no checkpoint in RUN/checkpoints: the run has not finished an epoch yet"."""
    run = fake_run(tmp_path / "run")
    (run / "checkpoints").write_text("x")
    one_line_error(capsys, ["eval", str(run)], "is a file, not the run's folder of checkpoints")
    assert "a file where the trainer writes a folder" in _status(capsys, run)["problem"]


def test_last_pt_a_folder_is_not_called_missing(tmp_path, capsys):
    """It said "last.pt is missing" (with previous.pt) or "the run has not finished an epoch yet" (without)."""
    from improved_gan.runs.checkpoint import load_checkpoint

    run = _checkpointed(tmp_path / "run")
    (run / "checkpoints" / "last.pt").unlink()
    (run / "checkpoints" / "last.pt").mkdir()
    said = []
    load_checkpoint(run, on_fallback=said.append)
    assert "last.pt is a folder, not a checkpoint file; using" in said[0]
    (run / "checkpoints" / "previous.pt").unlink()
    one_line_error(capsys, ["eval", str(run)], "last.pt is a folder, not a checkpoint file")


def test_a_zero_byte_checkpoint_says_it_is_empty(tmp_path, capsys):
    """It said "Ran out of input" (eval, resume) or spoke of mmap and _use_new_zipfile_serialization (runs)."""
    run = _checkpointed(tmp_path / "run")
    (run / "checkpoints" / "last.pt").write_bytes(b"")
    status = _status(capsys, run)
    assert "last.pt is empty (0 bytes)" in status["problem"] and "mmap" not in status["problem"]
    (run / "checkpoints" / "previous.pt").write_bytes(b"")
    one_line_error(capsys, ["eval", str(run)], "last.pt is empty (0 bytes)", "previous.pt is empty (0 bytes)")


def test_a_config_json_that_is_a_folder_is_listed_as_damaged(tmp_path, capsys):
    """`runs` skipped it without a word."""
    (tmp_path / "run" / "config.json").mkdir(parents=True)
    status = _status(capsys, tmp_path)
    assert status["status"] == "damaged" and "Is a directory" in status["problem"]


def test_runs_does_not_follow_a_link_back_up(tmp_path, capsys):
    """`runs top` with top/loop/up -> .. listed top's runs again (and runs beside top, through the link)."""
    fake_run(tmp_path / "top" / "a")
    (tmp_path / "top" / "loop").mkdir()
    (tmp_path / "top" / "loop" / "up").symlink_to("..")
    (tmp_path / "top" / "link").symlink_to(tmp_path / "top" / "a")
    assert main(["runs", str(tmp_path / "top"), "--json"]) == 0
    assert [json.loads(line)["run"] for line in capsys.readouterr().out.splitlines()] == [str(tmp_path / "top" / "a")]


# -- running.pid ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pid", ["0", "-1"])
def test_a_pid_of_zero_or_minus_one_is_no_trainer(pid, tmp_path, capsys):
    """os.kill(0 or -1, 0) signals a group and succeeds: the run was "being trained by process -1"."""
    run = fake_run(tmp_path / "run", epochs_done=2)
    (run / "running.pid").write_text(pid + "\n")
    assert _status(capsys, run)["status"] != "running"
    from improved_gan.runs.guard import running_pid

    assert running_pid(run) is None


# -- eval -----------------------------------------------------------------------------------------

def test_eval_data_dir_that_the_run_does_not_read_is_refused(tmp_path, capsys):
    """`eval RUN --data-dir /nowhere` of an mnist5k run evaluated, ignoring it."""
    run = _checkpointed(tmp_path / "run")
    one_line_error(capsys, ["eval", str(run), "--data-dir", "/nowhere"], "does not apply to mnist5k")


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


def test_the_checkpoint_of_a_fake_run_loads(tmp_path):
    """The fixtures above rely on fake_run's checkpoint being sound (else every case would be 'damaged')."""
    from improved_gan.runs.checkpoint import load_checkpoint

    assert load_checkpoint(_checkpointed(tmp_path / "run"))["epoch"] == 1
    assert isinstance(torch.load(tmp_path / "run" / "checkpoints" / "previous.pt", weights_only=False), dict)


def test_resume_of_a_folder_inside_a_run_names_the_run(tmp_path, capsys):
    """`train --resume RUN/checkpoints` said "config.json not found"."""
    run = fake_run(tmp_path / "run", checkpoint=True)
    one_line_error(capsys, ["resume", str(run / "checkpoints")], "a folder inside the run",
                   f"`improved-gan resume {run.resolve()}`")
