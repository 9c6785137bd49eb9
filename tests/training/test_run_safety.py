"""Nothing a user made is deleted or overwritten (issue 17, the four data-loss cases and their kin).

Each test names the case; before issue 17 each of them lost or rewrote files with exit status 0.
Refusals come before any training, so most cases cost only the interpreter's start.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from clitools import cli
from tiny_run import TINY

ONE_EPOCH = [*TINY, "--epochs", "1"]


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(result, *says: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    for text in says:
        assert text in result.stderr, result.stderr


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the finished 3-epoch tiny run, for tests that try to damage it."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


# -- case 1: --overwrite deletes any folder ---------------------------------------------------------

def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path):
    p = tmp_path / "p"
    (p / "sub").mkdir(parents=True)
    (p / "thesis.tex").write_text("x")
    before = _listing(p)
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(p), "--overwrite", check=False),
             "--overwrite refused", "no config.json", "Nothing was removed")
    assert _listing(p) == before and (p / "sub").is_dir()


def test_overwrite_refuses_the_current_directory_and_its_parents(tmp_path):
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    (here / "notes.txt").write_text("mine")
    for out, says in ((".", "it is the current directory"), ("..", "it holds the current directory")):
        _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", out, "--overwrite", cwd=here, check=False), says)
    assert (here / "notes.txt").read_text() == "mine"


def test_overwrite_refuses_a_run_folder_holding_anything_else(run_copy):
    (run_copy / "notes.txt").write_text("mine")
    (run_copy / "figures").mkdir()
    before = _listing(run_copy)
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(run_copy), "--overwrite", check=False),
             "files a run does not write (figures/, notes.txt)")
    assert _listing(run_copy) == before


def test_overwrite_refuses_a_run_holding_a_users_dotted_tmp_file(run_copy):
    """Any ``.X.tmp`` counted as the run's own temporary file, so `--overwrite` would have removed a user's
    ``.notes.tmp`` with the run (the third sweep). Only an atomic write's temporary of a file the trainer writes
    there is the run's (runs/layout.is_our_temporary)."""
    (run_copy / ".notes.tmp").write_text("mine")
    (run_copy / "checkpoints" / ".draft.tmp").write_text("mine too")
    before = _listing(run_copy)
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(run_copy), "--overwrite", check=False),
             "files a run does not write", ".notes.tmp")
    assert _listing(run_copy) == before


def test_overwrite_refuses_a_folder_whose_config_is_not_ours(tmp_path):
    p = tmp_path / "p"
    p.mkdir()
    (p / "config.json").write_text('{"name": "my project"}')
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(p), "--overwrite", check=False),
             "is not a run's config")
    assert (p / "config.json").read_text() == '{"name": "my project"}'


# -- case 2: the old run was deleted before the new config was checked --------------------------------

@pytest.mark.parametrize(
    "bad, says",
    [(["--labels", "55"], "labels must be a multiple"),
     (["--batch-size", "5000"], "batch_size 5000 is larger than the 4,000 training images")],
)
def test_overwrite_checks_config_and_data_before_removing_anything(run_copy, bad, says):
    before = _listing(run_copy)
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, *bad, "--out", str(run_copy), "--overwrite", check=False), says)
    assert _listing(run_copy) == before


def test_overwrite_replaces_one_of_our_runs(run_copy):
    cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(run_copy), "--overwrite")
    rows = (run_copy / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1]
    assert not (run_copy / "samples" / "epoch-0003.png").exists()
    assert not (run_copy / "running.pid").exists()


# -- case 3: --out into a folder that is not a run overwrote its files ---------------------------------

def test_out_into_a_folder_that_is_not_a_run_is_refused(tmp_path):
    p = tmp_path / "paper"
    p.mkdir()
    (p / "config.json").write_text('{"latex": true}')
    (p / "report.md").write_text("my report")
    before = _listing(p)
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(p), check=False),
             "not empty and not a run", "nothing was written")
    assert _listing(p) == before


def test_out_naming_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("mine")
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(tmp_path / "f"), check=False), "is a file")
    assert (tmp_path / "f").read_text() == "mine"


# -- case 4: resume rewrote config.json, and resumed an edited one silently ----------------------------

def test_resume_refuses_to_shrink_epochs_and_leaves_config_alone(run_copy):
    before = (run_copy / "config.json").read_bytes()
    _refused(cli("resume", str(run_copy), "--epochs", "1", check=False),
             "has trained 3 epochs already", "--epochs 3 or more")
    assert (run_copy / "config.json").read_bytes() == before


@pytest.mark.parametrize(
    "field, value",
    [("dataset", "mnist"), ("latent_dim", 50), ("labels", 50), ("seed", 1), ("lr", 0.001)],
)
def test_resume_refuses_a_config_json_edited_since_the_checkpoint(run_copy, field, value):
    config = json.loads((run_copy / "config.json").read_text())
    old = config[field]
    config[field] = value
    (run_copy / "config.json").write_text(json.dumps(config))
    result = cli("resume", str(run_copy), check=False)
    _refused(result, "differs from the config its checkpoint was trained with", f"{field}={old!r} (now {value!r})")
    assert ("--allow-lr-change" in result.stderr) == (field == "lr")


def test_resume_takes_a_new_lr_when_asked(run_copy):
    config = json.loads((run_copy / "config.json").read_text())
    (run_copy / "config.json").write_text(json.dumps({**config, "lr": 0.001}))
    result = cli("resume", str(run_copy), "--epochs", "4", "--allow-lr-change", "--no-progress")
    assert "epoch 4:" in result.stdout  # per-epoch lines with --no-progress too
    assert "loading data: mnist5k" in result.stdout and "precision fp32" in result.stdout
    assert json.loads((run_copy / "config.json").read_text())["epochs"] == 4


def test_resume_refuses_a_run_that_is_training_now(run_copy):
    from clitools import hold_run_lock

    with hold_run_lock(run_copy, os.getpid()):  # this test process holds the run's lock, as a trainer does
        _refused(cli("resume", str(run_copy), check=False), f"being trained by process {os.getpid()}")
        _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(run_copy), "--overwrite", check=False),
                 f"process {os.getpid()} is training it now")


# -- one damaged checkpoint does not lose a run ---------------------------------------------------------

def test_previous_checkpoint_is_kept_and_used_when_the_last_is_damaged(run_copy):
    last, previous = run_copy / "checkpoints" / "last.pt", run_copy / "checkpoints" / "previous.pt"
    assert previous.is_file()
    last.write_bytes(last.read_bytes()[:1000])  # truncated, as by a full disk
    result = cli("eval", str(run_copy), "--json")
    assert json.loads(result.stdout)["epoch"] == 2
    assert "last.pt cannot be read" in result.stderr and "previous.pt" in result.stderr and "epoch 2" in result.stderr


def test_a_checkpoint_with_missing_keys_is_damaged_not_a_traceback(run_copy):
    import torch

    last = run_copy / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=False)
    del state["generator"], state["rng"]
    torch.save(state, last)
    (run_copy / "checkpoints" / "previous.pt").unlink()
    _refused(cli("sample", str(run_copy), "--n", "4", "--out", str(run_copy.parent / "g.png"), check=False),
             "last.pt lacks generator, rng; it is damaged")


def test_sample_refuses_a_config_json_edited_since_the_checkpoint(run_copy):
    """An edited latent_dim made `sample` a state-dict traceback before issue 17."""
    config = json.loads((run_copy / "config.json").read_text())
    (run_copy / "config.json").write_text(json.dumps({**config, "latent_dim": 50}))
    _refused(cli("sample", str(run_copy), "--n", "4", "--out", str(run_copy.parent / "g.png"), check=False),
             "latent_dim=100 (now 50)")
    _refused(cli("eval", str(run_copy), check=False), "latent_dim=100 (now 50)")


def test_a_full_disk_during_training_is_one_line_and_keeps_the_last_checkpoint(run_copy, capsys, monkeypatch):
    import errno

    from improved_gan.cli.main import main
    from improved_gan.runs import checkpoint

    before = (run_copy / "checkpoints" / "last.pt").read_bytes()

    def full_disk(run_dir, state):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run_dir / "checkpoints" / ".last.pt.tmp"))

    monkeypatch.setattr(checkpoint, "save_checkpoint", full_disk)
    assert main(["resume", str(run_copy), "--epochs", "4", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err
    assert "last checkpoint is intact" in err and f"improved-gan resume {run_copy}" in err
    assert (run_copy / "checkpoints" / "last.pt").read_bytes() == before
    assert not (run_copy / "running.pid").exists()


def test_overwrite_refuses_a_run_with_a_file_of_yours_inside_its_folders(run_copy):
    (run_copy / "samples" / "best-figure.pdf").write_text("mine")
    _refused(cli("train", "mnist-fm", *ONE_EPOCH, "--out", str(run_copy), "--overwrite", check=False),
             "samples/best-figure.pdf")
    assert (run_copy / "samples" / "best-figure.pdf").read_text() == "mine"
