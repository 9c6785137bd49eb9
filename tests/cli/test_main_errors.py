"""How every command ends on a failure (cli/main.py): a file-system error, an allocation this machine cannot
make, missing data and Ctrl-C are one line that says what to do; a bug keeps its traceback.

Each case was, before, a traceback (torch's RuntimeError for 500 GB), a message that said nothing of what to
change ("File exists: notes.txt"), nine lines for missing data, or "continue with --resume" where there was
nothing to resume. In-process (``main([...])``), the failure made by a monkeypatch; nothing trains.
"""

from __future__ import annotations

import errno

import pytest
from clitools import one_line_error

from improved_gan.cli.main import main

TRAIN = ["train", "mnist-fm", "--dataset", "mnist5k", "--epochs", "1", "--iters-per-epoch", "2", "--no-progress"]


def test_an_allocation_this_machine_cannot_make_is_one_line(tmp_path, capsys, monkeypatch):
    """`--set minibatch_kernels=100000000` (or a huge latent_dim) asked torch for 500 GB: a RuntimeError traceback."""
    from improved_gan.training import trainer

    def too_big(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                           "memory: you tried to allocate 500000000000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(trainer, "build_models", too_big)
    one_line_error(capsys, [*TRAIN, "--out", str(tmp_path / "r")], "out of memory (465.7 GiB asked for)",
                   "choose a smaller one")


def test_another_runtime_error_is_still_a_traceback(tmp_path, monkeypatch):
    """Only allocation failures become one line: a bug keeps its traceback."""
    from improved_gan.training import trainer

    def bug(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(trainer, "build_models", bug)
    with pytest.raises(RuntimeError, match="shapes"):
        main([*TRAIN, "--out", str(tmp_path / "r")])


def test_a_file_where_a_folder_is_needed_is_named(tmp_path):
    """"File exists: notes.txt" / "Not a directory: notes.txt/x" said nothing of what to change."""
    from improved_gan.cli.main import _os_error_message

    (tmp_path / "notes.txt").write_text("x")
    for err in (NotADirectoryError(errno.ENOTDIR, "Not a directory", str(tmp_path / "notes.txt" / "x")),
                FileExistsError(errno.EEXIST, "File exists", str(tmp_path / "notes.txt"))):
        assert _os_error_message(err).startswith(f"{tmp_path / 'notes.txt'} is a file where a folder is needed")


def test_missing_data_is_one_line():
    """MNIST or CIFAR-10 absent and offline: the message ran over nine lines."""
    from improved_gan.data.download import missing_files_error

    message = str(missing_files_error("MNIST file x", ["/a/x", "/a/x.gz"], how_to_supply="Put it in /a.",
                                      failed_downloads=["http://h/x.gz: offline", "http://g/x.gz: offline"]))
    assert "\n" not in message and "/a/x.gz" in message and "http://g/x.gz: offline" in message


# -- Ctrl-C ---------------------------------------------------------------------------------------

def test_ctrl_c_before_the_first_checkpoint_says_to_start_again(tmp_path, capsys, monkeypatch):
    """It said "the last checkpoint is kept; continue with --resume", and --resume then found no checkpoint."""
    from improved_gan.training import trainer

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.Trainer, "train", interrupted)
    assert main([*TRAIN, "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert "no checkpoint to resume" in err and "run the same command again" in err and "improved-gan resume" not in err


def test_ctrl_c_while_the_run_is_built_says_nothing_was_written(tmp_path, capsys, monkeypatch):
    """Stopped while G and D were built, before the run folder was made, ``train`` said "the last checkpoint is
    kept; continue with `improved-gan resume RUN`" of a folder that did not exist (the fourth sweep)."""
    from improved_gan.training import trainer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "build_models", interrupted)
    assert main([*TRAIN, "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert err == f"interrupted before {tmp_path / 'r'} was made: nothing was written; run the same command again " \
                  "to start the run\n", err
    assert not (tmp_path / "r").exists()


def test_ctrl_c_of_a_command_that_keeps_no_checkpoint_says_so(tmp_path, capsys, monkeypatch):
    """`games`, `sample` and `turing create` said "the last checkpoint is kept; continue with --resume"."""
    from improved_gan.games import experiment

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "run_experiment", interrupted)
    assert main(["games", "--out", str(tmp_path / "g"), "--steps", "5", "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: nothing was left half-written") and "improved-gan resume" not in err
