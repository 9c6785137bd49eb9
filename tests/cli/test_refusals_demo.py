"""What `improved-gan demo` refuses before its workers start: one line (``error: ...``, exit status 2), and
another run as it was. (`demo --out RUN` started both of its runs inside another run's folder.) In-process
(``main([...])``); nothing trains. The demo itself: test_demo.py.
"""

from __future__ import annotations

import pytest
from clitools import fake_run, refusal, refuses


@pytest.fixture
def folder(tmp_path):
    fake_run(tmp_path / "run", checkpoint=True, previous=True)
    return tmp_path


@pytest.mark.parametrize("case", [
    refusal(f"out-{what}", ["demo", "--out", out, "--epochs", "1", "--no-progress"], "lies inside the run folder",
            "nothing was written")
    for what, out in (("a-run", "{tmp}/run"), ("in-a-runs-samples", "{tmp}/run/samples"))
])  # fmt: skip
def test_demo_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)
