"""What `improved-gan ablate table3` refuses: one line (``error: ...``, exit status 2), with or without
``--dry-run`` (which printed the configs for an --n or --out the real command then refused), and the user's
files as they were. In-process (``main([...])``); nothing is computed.
"""

from __future__ import annotations

import pytest
from clitools import refusal, refuses


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    return tmp_path


DRY_RUN = ["ablate", "table3", "--dry-run"]


@pytest.mark.parametrize("case", [
    refusal("too-few-samples", ["ablate", "table3", "--n", "0", "--out", "{tmp}/a"], "--n must be at least 10"),
    refusal("dry-run-too-few-samples", [*DRY_RUN, "--out", "{tmp}/a", "--n", "0"], "--n must be at least 10"),
    refusal("dry-run-out-a-file", [*DRY_RUN, "--out", "{tmp}/notes.txt"], "is a file, not a folder"),
    refusal("dry-run-weights-missing", [*DRY_RUN, "--out", "{tmp}/a", "--weights", "{tmp}/none.pth"],
            "none.pth does not exist"),
    refusal("dry-run-weights-a-folder", [*DRY_RUN, "--out", "{tmp}/a", "--weights", "{tmp}"], "is a folder"),
])  # fmt: skip
def test_ablate_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)
