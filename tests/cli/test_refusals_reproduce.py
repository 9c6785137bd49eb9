"""What `improved-gan reproduce table1` refuses: one line (``error: ...``, exit status 2) before any run is
planned or started, and the user's files and other runs as they were.

Each row of the table was, before, a traceback (ZeroDivisionError for --jobs 0), a flag silently ignored or
overridden by each run's own config, a plan of runs inside another run's folder, or a user's table replaced.
In-process (``main([...])``); nothing trains (``--dry-run``, or a refusal before the first run).
"""

from __future__ import annotations

import pytest
from clitools import fake_run, refusal, refuses

from improved_gan.cli.main import build_parser

TABLE1 = ["reproduce", "table1", "--labels", "20", "--seeds", "0", "--dry-run"]


@pytest.fixture
def folder(tmp_path):
    """A finished run (run/, with last.pt and previous.pt), the user's notes.txt and mine/table1.md."""
    fake_run(tmp_path / "run", checkpoint=True, previous=True)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "table1.md").write_text("my table")
    return tmp_path


def _table1(*argv: str) -> list[str]:
    dataset = [] if "--dataset" in argv else ["--dataset", "mnist5k"]
    return [*TABLE1, *dataset, *argv, "--out", "{tmp}/t"]


@pytest.mark.parametrize("case", [
    refusal("no-jobs", _table1("--jobs", "0"), "--jobs must be at least 1"),  # a ZeroDivisionError traceback
    refusal("negative-jobs", _table1("--jobs", "-1"), "--jobs must be at least 1"),  # "expected ... -24.2 h"
    refusal("empty-stack", _table1("--stack", "0"), "--stack must be at least 1"),
    refusal("jobs-of-a-single-stack", _table1("--stack", "1", "--jobs", "2"), "--jobs 2 would be ignored"),
    refusal("stack-larger-than-the-seeds", _table1("--stack", "5"), "more than the 1 seeds"),  # only without --dry-run
    refusal("labels-by-set", _table1("--set", "labels=50"), "give them with --labels"),  # each run's own won, silently
    refusal("seed-by-set", _table1("--set", "seed=3"), "give them with --seeds"),
    refusal("dataset-twice", _table1("--set", "dataset=mnist"),
            "--dataset mnist5k and --set dataset=mnist both set dataset"),
    refusal("epochs-twice", _table1("--set", "epochs=3", "--epochs", "2"), "both set epochs"),
    refusal("data-dir-the-dataset-does-not-read", _table1("--data-dir", "/nowhere"), "does not apply to mnist5k"),
    refusal("cifar10-is-not-table-1", _table1("--dataset", "cifar10"),
            "Table 1 is an MNIST experiment"),  # planned 500-iteration CIFAR epochs
    refusal("out-a-run", [*TABLE1, "--dataset", "mnist5k", "--out", "{tmp}/run"], "run folder", "outside it"),
    refusal("out-in-a-runs-tensorboard", [*TABLE1, "--dataset", "mnist5k", "--out", "{tmp}/run/tensorboard"],
            "run folder", "outside it"),  # planned its runs inside another run's folder
    refusal("out-a-users-table", ["reproduce", "table1", "--dataset", "mnist5k", "--out", "{tmp}/mine", "--dry-run"],
            "table1.md exists", "not written by improved-gan"),
    refusal("out-a-file", ["reproduce", "table1", "--dataset", "mnist5k", "--out", "{tmp}/notes.txt"],
            "is a file, not a folder"),  # "File exists: FILE" after planning
])  # fmt: skip
def test_reproduce_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)


@pytest.mark.parametrize("seeds, says", [
    ("5-1", "5-1 is an empty range"),  # was "no seeds given"
    ("0-100000000", "at most 1,000 seeds"),  # 0-100000 planned for over five minutes, 0-100000000 filled the memory
], ids=["seeds-in-the-wrong-order", "too-many-seeds"])  # fmt: skip
def test_reproduce_seeds_are_refused_by_the_parser(seeds, says, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "table1", "--seeds", seeds])
    assert says in capsys.readouterr().err
