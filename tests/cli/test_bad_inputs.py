"""A second round of a new user's bad inputs (issue 17): each case here was a traceback, or a flag
accepted and silently ignored, before. Every one is now one line (``error: ...``, exit status 2) before
anything is computed, and the run folder is byte-identical after.

In-process (``main([...])``) with hand-made run folders and checkpoints; nothing trains.
"""

from __future__ import annotations

import errno
import json

import pytest
import torch
from clitools import fake_run, files, one_line_error

from improved_gan.cli.main import main

TRAIN = ["train", "mnist-fm", "--dataset", "mnist5k", "--epochs", "1", "--iters-per-epoch", "2", "--no-progress"]


# -- config values --------------------------------------------------------------------------------

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


# -- resume (and its alias train --resume) with the flags of a new run ------------------------------

@pytest.mark.parametrize(
    "argv, says",
    [(["--lr", "0.1"], "--allow-lr-change"),
     (["--precision", "bf16"], "edit 'precision' in"),
     (["--set", "labels=20", "--seed", "3"], "--seed, --set do not apply"),
     (["--out", "elsewhere"], "writes into"),
     (["--dataset", "cifar10"], "another run")],
)
def test_resume_refuses_flags_it_would_ignore(argv, says, tmp_path, capsys):
    """`train --resume RUN --lr 0.1` trained on with the old lr (and --precision bf16 with the old precision),
    exit status 0, not a word."""
    run = fake_run(tmp_path / "run")
    before = files(run)
    err = one_line_error(capsys, ["resume", str(run), *argv], "does not apply" if "--set" not in argv
                         else "do not apply", says)
    assert "nothing was changed" in err
    assert files(run) == before


def test_train_resume_is_an_alias_that_says_so(tmp_path, capsys):
    """`train --resume RUN` is `resume RUN`: it says so, and refuses what resume refuses."""
    run = fake_run(tmp_path / "run")
    before = files(run)
    assert main(["train", "--resume", str(run), "--lr", "0.1"]) == 2
    note, err = capsys.readouterr().err.splitlines()
    assert "`improved-gan resume RUN`" in note and err.startswith("error: ") and "--allow-lr-change" in err
    assert main(["train", "mnist-fm", f"--resume={run}"]) == 2
    assert f"is a run of mnist-fm already: continue it with `improved-gan resume {run}`" in capsys.readouterr().err
    assert files(run) == before


def test_resume_refuses_an_unknown_flag_as_argparse_does(tmp_path, capsys):
    run = fake_run(tmp_path / "run")
    with pytest.raises(SystemExit) as exit_:
        main(["resume", str(run), "--bogus"])
    assert exit_.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_ctrl_c_before_the_first_checkpoint_says_to_start_again(tmp_path, capsys, monkeypatch):
    """It said "the last checkpoint is kept; continue with --resume", and --resume then found no checkpoint."""
    from improved_gan.training import trainer

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.Trainer, "train", interrupted)
    assert main([*TRAIN, "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert "no checkpoint to resume" in err and "run the same command again" in err and "improved-gan resume" not in err


# -- checkpoints damaged inside -------------------------------------------------------------------

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


def test_eval_of_a_file_says_it_is_not_a_run(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    err = one_line_error(capsys, ["eval", str(tmp_path / "notes.txt")], "is a file, not a run folder")
    assert "half-written" not in err


# -- score ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short"], ids=["empty", "truncated"])
def test_score_of_an_empty_or_truncated_npz_is_one_line(content, tmp_path, capsys):
    """EOFError and zipfile.BadZipFile tracebacks."""
    (tmp_path / "x.npz").write_bytes(content)
    one_line_error(capsys, ["score", str(tmp_path / "x.npz"), "--metrics", "is"], "not a readable .npz file",
                   "np.savez")


# -- messages -------------------------------------------------------------------------------------

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
