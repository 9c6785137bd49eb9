"""A run folder damaged or edited by hand (config.json, metrics.jsonl, checkpoints/, running.pid): every command
that reads it names the damage in one line (``error: ...``, exit status 2), `runs` lists it as damaged, and
none fills in a default, trains over it or rewrites it.

Each case was, before, a traceback, a run trained on to a default it never had, or a message about something
else (mmap, miniz, "the run has not finished an epoch yet"). In-process (``main([...])``) with hand-made run
folders (``fake_run``); nothing trains.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from clitools import fake_run, files, one_line_error

from improved_gan.cli.main import main


def _checkpointed(folder, **kwargs):
    """A fake run with a last.pt and a previous.pt of the right shape."""
    return fake_run(folder, checkpoint=True, previous=True, **kwargs)


def _status(capsys, folder) -> dict:
    assert main(["runs", str(folder), "--json"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[0])


def test_the_checkpoint_of_a_fake_run_loads(tmp_path):
    """The cases below rely on fake_run's checkpoint being sound (else every case would be 'damaged')."""
    from improved_gan.runs.checkpoint import load_checkpoint

    assert load_checkpoint(_checkpointed(tmp_path / "run"))["epoch"] == 1
    assert isinstance(torch.load(tmp_path / "run" / "checkpoints" / "previous.pt", weights_only=False), dict)


# -- config.json ----------------------------------------------------------------------------------

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


def test_a_config_json_that_is_a_folder_is_listed_as_damaged(tmp_path, capsys):
    """`runs` skipped it without a word."""
    (tmp_path / "run" / "config.json").mkdir(parents=True)
    status = _status(capsys, tmp_path)
    assert status["status"] == "damaged" and "Is a directory" in status["problem"]


# -- metrics.jsonl --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "rows, says",
    [([{"epoch": -1}], "epoch -1 is not an epoch number"),  # listed as finished
     ([{"epoch": True}], "epoch True is not an epoch number"),  # counted as epoch 1
     ([{"epoch": 2}, {"epoch": 1}], "epoch 1 comes after epoch 2"),  # listed as unfinished at epoch 1
     ([{"epoch": 1, "test_errors": "many", "test_examples": 0}], "test_errors 'many' is not a number"),  # report:
     # a TypeError traceback
     ([{"epoch": 1, "loss_d": "nan?"}], "loss_d 'nan?' is not a number")],
    ids=["negative-epoch", "boolean-epoch", "epochs-out-of-order", "test-errors-not-a-number", "loss-not-a-number"],
)
def test_odd_metrics_rows_are_named(rows, says, tmp_path, capsys):
    run = fake_run(tmp_path / "run")
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    one_line_error(capsys, ["report", str(run)], says, "improved-gan resume")
    status = _status(capsys, run)
    assert status["status"] == "damaged" and says in status["problem"]


def test_a_truncated_metrics_line_is_one_line(tmp_path, capsys):
    run = fake_run(tmp_path / "a", epochs_done=2, checkpoint=True)
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(text[: len(text) - 20])  # the last line cut short
    one_line_error(capsys, ["report", str(run)], "metrics.jsonl line 2", "improved-gan resume")


def test_blank_lines_in_metrics_are_fine(tmp_path, capsys):
    run = fake_run(tmp_path / "run", epochs_done=2)
    (run / "metrics.jsonl").write_text("\n" + (run / "metrics.jsonl").read_text().replace("\n", "\n\n"))
    assert _status(capsys, run)["epochs_done"] == 2


@pytest.mark.parametrize("metrics, says", [("", "metrics.jsonl holds no epoch"),
                                           ('{"epoch": 1}\n{"epoch": 99}\n', "reaches epoch 99")],
                         ids=["metrics-emptied", "metrics-beyond-the-checkpoint"])
def test_runs_takes_the_checkpoints_epoch_when_the_metrics_disagree(metrics, says, tmp_path, capsys):
    """An emptied metrics.jsonl listed a finished run as 0/2 unfinished; one reaching epoch 99 as 99/2."""
    run = _checkpointed(tmp_path / "run", epochs_done=2)
    (run / "metrics.jsonl").write_text(metrics)
    status = _status(capsys, run)
    assert (status["status"], status["epochs_done"]) == ("finished", 2) and says in status["problem"]


# -- checkpoints/ ---------------------------------------------------------------------------------

def test_runs_reads_the_checkpoints_not_only_the_metrics(tmp_path, capsys):
    """A run whose metrics reached its last epoch was listed as finished with its last.pt damaged, or gone."""
    runs = tmp_path / "runs"
    only_last = fake_run(runs / "only-last", epochs_done=2, checkpoint=True)
    (only_last / "checkpoints" / "last.pt").write_bytes(b"half a checkpoint")
    with_previous = fake_run(runs / "with-previous", epochs_done=1, checkpoint=True)  # previous.pt: epoch 1
    fake_run(with_previous, epochs_done=2, checkpoint=True, exist_ok=True)
    (with_previous / "checkpoints" / "last.pt").write_bytes(b"half a checkpoint")
    gone = fake_run(runs / "gone", epochs_done=2, checkpoint=True)
    for path in (gone / "checkpoints").iterdir():
        path.unlink()
    assert main(["runs", str(runs), "--json"]) == 0
    rows = {Path(r["run"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["only-last"]["status"] == "damaged" and "last.pt cannot be read" in rows["only-last"]["problem"]
    assert "no previous.pt" in rows["only-last"]["problem"]
    assert rows["with-previous"]["status"] == "unfinished" and rows["with-previous"]["epochs_done"] == 1
    assert "using checkpoints/previous.pt" in rows["with-previous"]["problem"]
    assert rows["gone"]["status"] == "damaged" and "holds no checkpoint" in rows["gone"]["problem"]
    assert main(["runs", str(runs)]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if "with-previous" in row][0]
    assert "1/2" in line and "using checkpoints/previous.pt" in line


def _checkpoint(**changes) -> dict:
    state = {"version": 1, "epoch": 1, "config": {}, "image_shape": (1, 28, 28), "num_classes": 10,
             "generator": {}, "discriminator": {}, "step": {}, "step_info": {},
             "rng": {"torch": torch.get_rng_state(), "numpy": {}}, "history": []}
    return {**state, **changes}


@pytest.mark.parametrize(
    "changes, says",
    [({"epoch": "abc"}, "'epoch' is not an epoch count"),  # int('abc'): a ValueError traceback in eval and resume
     ({"rng": {"torch": "x"}}, "'rng' is not random-generator states"),  # set_rng_state: a TypeError traceback
     ({"history": 5}, "'history' is not a list of epoch records")],  # list(5): a TypeError traceback
    ids=["epoch-not-a-count", "rng-not-generator-states", "history-not-a-list"],
)
@pytest.mark.parametrize("command", ["eval", "sample", "resume"])
def test_a_checkpoint_with_entries_of_another_kind_is_damaged(changes, says, command, tmp_path, capsys):
    run = fake_run(tmp_path / "run")
    (run / "checkpoints").mkdir()
    torch.save(_checkpoint(**changes), run / "checkpoints" / "last.pt")
    argv = {"eval": ["eval", str(run), "--no-progress"],
            "sample": ["sample", str(run), "--out", str(tmp_path / "g.png")],
            "resume": ["resume", str(run), "--no-progress"]}[command]
    one_line_error(capsys, argv, says, "it is damaged", "no previous.pt")


def test_a_truncated_checkpoint_says_so_in_a_few_words(tmp_path, capsys):
    """torch's message for a cut zip runs on for five sentences about miniz."""
    run = fake_run(tmp_path / "run")
    (run / "checkpoints").mkdir()
    buffer = __import__("io").BytesIO()
    torch.save(_checkpoint(), buffer)
    (run / "checkpoints" / "last.pt").write_bytes(buffer.getvalue()[:1000])
    err = one_line_error(capsys, ["eval", str(run)], "failed finding central directory", "it is damaged")
    assert "miniz" not in err


def test_a_zero_byte_checkpoint_says_it_is_empty(tmp_path, capsys):
    """It said "Ran out of input" (eval, resume) or spoke of mmap and _use_new_zipfile_serialization (runs)."""
    run = _checkpointed(tmp_path / "run")
    (run / "checkpoints" / "last.pt").write_bytes(b"")
    status = _status(capsys, run)
    assert "last.pt is empty (0 bytes)" in status["problem"] and "mmap" not in status["problem"]
    (run / "checkpoints" / "previous.pt").write_bytes(b"")
    one_line_error(capsys, ["eval", str(run)], "last.pt is empty (0 bytes)", "previous.pt is empty (0 bytes)")


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


@pytest.mark.parametrize("path, kind", [("metrics.jsonl", "dir"), ("checkpoints/last.pt", "dir"),
                                        ("running.pid", "dir"), ("samples", "file")],
                         ids=["metrics-a-folder", "last-pt-a-folder", "running-pid-a-folder", "samples-a-file"])
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


# -- running.pid ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pid", ["0", "-1"])
def test_a_pid_of_zero_or_minus_one_is_no_trainer(pid, tmp_path, capsys):
    """os.kill(0 or -1, 0) signals a group and succeeds: the run was "being trained by process -1"."""
    run = fake_run(tmp_path / "run", epochs_done=2)
    (run / "running.pid").write_text(pid + "\n")
    assert _status(capsys, run)["status"] != "running"
    from improved_gan.runs.guard import running_pid

    assert running_pid(run) is None
