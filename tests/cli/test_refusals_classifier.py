"""What `improved-gan classifier train` refuses before it trains: one line (``error: ...``, exit status 2), and
the user's files as they were. Each row, before, trained for minutes, then replaced the link or the user's
file (or failed on the cache folder). In-process (``main([...])``); nothing trains.
"""

from __future__ import annotations

import pytest
from clitools import refusal, refuses


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The user's notes.md and a link c.pt to a file that does not exist; loading the data fails the test."""
    from improved_gan import data

    monkeypatch.setattr(data, "load_dataset", lambda *a, **k: pytest.fail("trained before checking --out"))
    (tmp_path / "notes.md").write_text("mine")
    (tmp_path / "c.pt").symlink_to(tmp_path / "elsewhere" / "c.pt")
    return tmp_path


@pytest.mark.parametrize("case", [
    refusal("out-a-dangling-link", ["classifier", "train", "--out", "{tmp}/c.pt"], "is a symbolic link"),
    refusal("out-a-users-file", ["classifier", "train", "--out", "{tmp}/notes.md"], "not written by improved-gan"),
    refusal("cache-a-file", ["classifier", "train"], "IMPROVED_GAN_CACHE", "notes.md is a file",
            env={"IMPROVED_GAN_CACHE": "{tmp}/notes.md"}),
])  # fmt: skip
def test_classifier_train_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)
