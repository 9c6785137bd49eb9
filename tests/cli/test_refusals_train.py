"""What `improved-gan train` (a new run) refuses: one line (``error: ...``, exit status 2) before anything is
computed, and the user's files as they were.

Each row of the table was, before, a traceback, a flag or value accepted and silently ignored, a ``--dry-run``
that passed what the real run then refused, or a user's folder or another run written into. In-process
(``main([...])``) with hand-made run folders (``fake_run``); nothing trains. A resumed run's refusals are in
test_refusals_resume.py, a damaged run's in test_refusals_damaged_runs.py.
"""

from __future__ import annotations

import errno
import json
import os

import pytest
from clitools import fake_run, one_line_error, refusal, refuses

from improved_gan.cli.main import main

TRAIN = ["train", "mnist-fm", "--dataset", "mnist5k", "--epochs", "1", "--iters-per-epoch", "2", "--no-progress"]


@pytest.fixture
def folder(tmp_path):
    """A user's folder (thesis/), a run (run/, with last.pt and previous.pt), a link to it and a dangling link."""
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("x")
    fake_run(tmp_path / "run", checkpoint=True, previous=True)
    (tmp_path / "link").symlink_to(tmp_path / "run")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    return tmp_path


@pytest.mark.parametrize("case", [
    # config values: each passed --dry-run, or was a traceback when the model was built
    refusal("negative-width", ["train", "cifar10-fm", "--set", "d_widths=-1,2", "--dry-run"],
            "d_widths must be positive"),
    refusal("zero-widths", ["train", "cifar10-fm", "--set", "d_widths=0,0", "--dry-run"], "d_widths must be positive"),
    refusal("seed-above-32-bits", ["train", "cifar10-fm", "--seed", str(2**40), "--dry-run"],
            "at most 4,294,967,295"),  # passed --dry-run, then failed after loading the data
    refusal("widths-not-integers", ["train", "cifar10-fm", "--set", "d_widths=[a,b]", "--dry-run"],
            "expected 2 comma-separated ints, e.g. 96,96"),  # was "invalid literal for int()"
    refusal("preset-changed-by-set", ["train", "cifar10-fm", "--set", "preset=mnist-fm", "--dry-run"],
            "name it as the command's first argument"),  # relabelled the run
    refusal("init-batch-larger-than-the-data", ["train", "mnist-fm", "--dataset", "mnist5k", "--epochs", "1",
                                                "--no-progress", "--set", "init_batch_size=100000", "--out",
                                                "{tmp}/r"],
            "init_batch_size 100000 is larger than the 4,000 training images"),  # quietly capped at 4,000
    # flags a new run would ignore or misread
    refusal("lr-given-twice", [*TRAIN, "--lr", "0.1", "--set", "lr=0.2", "--dry-run"],
            "--lr 0.1 and --set lr=0.2 both set lr"),  # --set won, silently
    refusal("unknown-train-split", [*TRAIN, "--set", "train_split=bogus", "--dry-run"],
            "train_split: dataset mnist5k has no split 'bogus'"),  # passed --dry-run
    refusal("empty-data-dir", [*TRAIN, "--set", "data_dir=", "--dry-run"],
            "data_dir must be a folder, or null"),  # '' read as the current folder
    refusal("data-dir-the-dataset-does-not-read", [*TRAIN, "--data-dir", "/nowhere", "--dry-run"],
            "--data-dir /nowhere does not apply to mnist5k"),  # trained, ignoring it
    refusal("allow-lr-change-on-a-new-run", [*TRAIN, "--allow-lr-change", "--dry-run"],
            "applies to `improved-gan resume RUN` only"),  # ignored for a new run
    refusal("allow-step-change-on-a-new-run", [*TRAIN, "--allow-step-change", "--dry-run"],
            "applies to `improved-gan resume RUN` only"),
    refusal("list-with-out", ["train", "--list", "--out", "x"], "--list prints the presets", "--out"),
    refusal("list-with-a-preset", ["train", "mnist-fm", "--list"], "takes nothing else (got preset)"),
    # --out: a user's folder, a link, another run
    refusal("dry-run-out-a-users-folder", [*TRAIN, "--out", "{tmp}/thesis", "--dry-run"],
            "not empty and not a run"),  # --dry-run said yes to an --out the real run refused
    refusal("dry-run-overwrite-a-users-folder", [*TRAIN, "--out", "{tmp}/thesis", "--overwrite", "--dry-run"],
            "Nothing was removed"),
    refusal("overwrite-through-a-link", [*TRAIN, "--out", "{tmp}/link", "--overwrite"], "it is a symbolic link",
            "Nothing was removed"),  # said "already holds a run; ... start it again with --overwrite"
    refusal("out-a-dangling-link", [*TRAIN, "--out", "{tmp}/dangling"], "symbolic link to",
            "which does not exist"),  # "cannot write the run: File exists: LINK"
    *[refusal(f"out-in-a-runs-{inside.split('/')[0]}", [*TRAIN, "--out", f"{{tmp}}/run/{inside}", "--dry-run"],
              "lies inside the run folder", "nothing was written")  # started a run inside a run
      for inside in ("checkpoints/new", "tensorboard/x", "samples/run")],
])  # fmt: skip
def test_train_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)


def test_a_dry_run_of_a_new_folder_makes_nothing(tmp_path, capsys):
    assert main([*TRAIN, "--out", str(tmp_path / "new"), "--dry-run"]) == 0
    assert not (tmp_path / "new").exists()


def _times(folder) -> dict[str, int]:
    """The modification time of ``folder`` and of everything under it (links not followed), in ns."""
    paths = [folder, *sorted(folder.rglob("*"))]
    return {str(p.relative_to(folder)): os.stat(p, follow_symlinks=False).st_mtime_ns for p in paths}


@pytest.mark.parametrize("holds, status", [("a finished run", 2), ("the start of this run", 0), ("nothing", 0),
                                           ("a user's files", 2), ("no folder yet", 0)])  # fmt: skip
def test_a_dry_run_changes_nothing_in_its_out_folder(holds, status, tmp_path):
    """``train ... --dry-run --out RUN`` changed RUN's modification time (the sixth sweep), and a new --out's the
    folder's that would hold it: the check that it can be written made and removed a folder there. The real
    command, in a fresh process; the times of everything in the test's folder, that folder's included."""
    from clitools import cli

    out = tmp_path / "out"
    if holds == "a finished run":
        fake_run(out, checkpoint=True)
    elif holds == "the start of this run":  # its config.json, as the run writes it first
        out.mkdir()
        (out / "config.json").write_text(cli(*TRAIN, "--out", str(out), "--dry-run").stdout)
    elif holds != "no folder yet":
        out.mkdir()
        if holds == "a user's files":
            (out / "thesis.tex").write_text("x")
    for path in [tmp_path, *tmp_path.rglob("*")]:
        os.utime(path, ns=(10**18, 10**18), follow_symlinks=False)  # 2001: a dry run's time would stand out
    before = _times(tmp_path)
    result = cli(*TRAIN, "--out", str(out), "--dry-run", check=False)
    assert result.returncode == status, result.stderr
    assert _times(tmp_path) == before


def test_a_width_pair_in_brackets_is_read(capsys):
    assert main(["train", "cifar10-fm", "--set", "d_widths=[64, 128]", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["d_widths"] == [64, 128]


def test_a_set_given_twice_keeps_the_last_as_every_repeated_option_does(capsys):
    """Scripts build their arguments from a base list and changes: the later --set is the change."""
    assert main([*TRAIN, "--set", "lr=0.01", "--set", "lr=0.001", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["lr"] == 0.001


def test_train_list_prints_the_presets():
    assert main(["train", "--list"]) == 0


@pytest.mark.parametrize("code, says", [(errno.EROFS, "Read-only file system"),
                                        (errno.ENOSPC, "No space left on device"),
                                        (errno.EISDIR, "Is a directory")],
                         ids=["read-only-disk", "disk-full", "a-folder-in-the-way"])
def test_a_file_system_error_is_one_line_saying_the_checkpoint_is_intact(code, says, tmp_path, capsys, monkeypatch):
    from improved_gan.training import trainer

    def failing_save(config, path):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(trainer, "save_config", failing_save)
    one_line_error(
        capsys,
        ["train", "mnist-fm", "--dataset", "mnist5k", "--labels", "20", "--epochs", "1", "--no-progress",
         "--out", str(tmp_path / "r")],
        says, "config.json", "intact",
    )
