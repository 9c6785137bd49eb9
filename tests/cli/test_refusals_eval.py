"""What `improved-gan eval RUN` refuses: one line (``error: ...``, exit status 2), the run as it was.

A damaged checkpoint, which eval names too: test_refusals_damaged_runs.py. In-process (``main([...])``) with
hand-made run folders (``fake_run``); nothing trains.
"""

from __future__ import annotations

import pytest
from clitools import fake_run, refusal, refuses


@pytest.fixture
def folder(tmp_path):
    """A finished run (run/, with last.pt and previous.pt) and the user's notes.txt."""
    fake_run(tmp_path / "run", checkpoint=True, previous=True)
    (tmp_path / "notes.txt").write_text("x")
    return tmp_path


@pytest.mark.parametrize("case", [
    refusal("a-file-not-a-run", ["eval", "{tmp}/notes.txt"], "is a file, not a run folder",
            unsaid=("half-written",)),
    refusal("data-dir-the-run-does-not-read", ["eval", "{tmp}/run", "--data-dir", "/nowhere"],
            "does not apply to mnist5k"),  # an mnist5k run was evaluated, ignoring it
])  # fmt: skip
def test_eval_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)
