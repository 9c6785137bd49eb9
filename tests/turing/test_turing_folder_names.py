"""A study folder may be named with any character a file name can hold: `turing create`, `invite` and `results`
find its SQLite store inside it, through the command line (a fresh interpreter each).

`turing create 'q?x'` put the store in a stray file `.q` beside the folder, and `create 'h#x'` in `.h`: the
default database URL was built by string formatting, so SQLAlchemy read what followed `?` as a query and `#`
cut the path (the eighth sweep)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from clitools import cli

NAMES = {"question-mark": "q?x", "hash": "h#x", "percent": "p%41x", "space": "a b", "non-ascii": "étude"}


@pytest.fixture
def pools(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("real", "gen"):
        np.savez(tmp_path / f"{name}.npz", x=rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8))
    return tmp_path


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_a_study_folder_named_with_any_character_round_trips(name, pools):
    study = pools / name
    cli("turing", "create", str(study), "--real", str(pools / "real.npz"), "--generated", str(pools / "gen.npz"),
        "--per-session", "10", "--attention-checks", "1", "--tutorial", "2", "--no-progress",
        "--allow-recurring-images")
    assert sorted(p.name for p in pools.iterdir()) == sorted([name, "real.npz", "gen.npz"])  # nothing beside it
    assert (study / "turing.sqlite3").is_file()

    table = cli("turing", "invite", str(study), "--n", "3").stdout
    assert len(list(csv.DictReader(io.StringIO(table)))) == 3
    shown = cli("turing", "results", str(study)).stdout
    assert "0 votes from 0 annotators" in shown
    assert cli("turing", "invite", str(study), "--n", "1").stderr.endswith(": 4 invitations, 0 used\n")
    assert sorted(p.name for p in pools.iterdir()) == sorted([name, "real.npz", "gen.npz"])
