"""What `improved-gan resume RUN` (and its alias `train --resume RUN`) refuses: one line (``error: ...``, exit
status 2), and the run as it was.

Each row of the table was, before, a flag of a new run accepted and silently ignored (`--lr 0.1` trained on
with the old lr, exit status 0, not a word) or a misleading message. In-process (``main([...])``) with
hand-made run folders (``fake_run``); nothing trains. A run damaged by hand: test_refusals_damaged_runs.py.
"""

from __future__ import annotations

import pytest
from clitools import fake_run, files, refusal, refuses

from improved_gan.cli.main import main


@pytest.fixture
def folder(tmp_path):
    """run/: a run without a checkpoint (a flag is refused before one is looked for); done/: one with a last.pt."""
    fake_run(tmp_path / "run")
    fake_run(tmp_path / "done", checkpoint=True)
    return tmp_path


@pytest.mark.parametrize("case", [
    refusal("lr-change-without-allow", ["resume", "{tmp}/run", "--lr", "0.1"], "does not apply",
            "--allow-lr-change", "nothing was changed"),
    refusal("precision-change", ["resume", "{tmp}/run", "--precision", "bf16"], "does not apply",
            "edit 'precision' in", "nothing was changed"),  # trained on with the old precision
    refusal("seed-and-set-of-a-new-run", ["resume", "{tmp}/run", "--set", "labels=20", "--seed", "3"],
            "do not apply", "--seed, --set do not apply", "nothing was changed"),
    refusal("out-elsewhere", ["resume", "{tmp}/run", "--out", "elsewhere"], "does not apply", "writes into",
            "nothing was changed"),
    refusal("dataset-of-another-run", ["resume", "{tmp}/run", "--dataset", "cifar10"], "does not apply",
            "another run", "nothing was changed"),
    refusal("a-folder-inside-a-run", ["resume", "{tmp}/done/checkpoints"], "a folder inside the run",
            "`improved-gan resume {tmp}/done`"),  # said "config.json not found"
])  # fmt: skip
def test_resume_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder.resolve(), case)


def test_train_resume_is_an_alias_that_refuses_what_resume_refuses_in_one_line(tmp_path, capsys):
    """`train --resume RUN` is `resume RUN`; a refusal is one line (the alias's note came first, a second line;
    the note follows a resume that ran: tests/training/test_train_cli.py)."""
    run = fake_run(tmp_path / "run")
    before = files(run)
    assert main(["train", "--resume", str(run), "--lr", "0.1"]) == 2
    [err] = capsys.readouterr().err.splitlines()
    assert err.startswith("error: ") and "--allow-lr-change" in err
    assert main(["train", "mnist-fm", f"--resume={run}"]) == 2
    assert f"is a run of mnist-fm already: continue it with `improved-gan resume {run}`" in capsys.readouterr().err
    assert files(run) == before


def test_resume_refuses_an_unknown_flag_as_argparse_does(tmp_path, capsys):
    run = fake_run(tmp_path / "run")
    with pytest.raises(SystemExit) as exit_:
        main(["resume", str(run), "--bogus"])
    assert exit_.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err
