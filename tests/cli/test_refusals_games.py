"""What `improved-gan games` refuses: one line (``error: ...``, exit status 2) before anything is computed,
and the user's files and runs as they were.

Each row of the table was, before, a traceback after the runs (matplotlib's "Axis limits cannot be NaN or
Inf", NumPy's MemoryError), a message about something else ("File exists: LINK"), or files written into the
working directory, a run's folder or over a user's own distances.json. In-process (``main([...])``).
"""

from __future__ import annotations

import pytest
from clitools import fake_run, files, one_line_error, refusal, refuses

from improved_gan.cli.main import main


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The working directory: a run (run/), the user's mine/distances.json and mine/notes.txt, a dangling link."""
    fake_run(tmp_path / "run", checkpoint=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "distances.json").write_text('{"mine": 1}')
    (tmp_path / "mine" / "notes.txt").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", [
    refusal("start-beyond-the-escape-radius", ["games", "--out", "{tmp}/g", "--start", "1e308", "1e308"],
            "--start must lie within 100,000"),
    refusal("steps-too-many-to-hold", ["games", "--out", "{tmp}/g", "--steps", str(10**14)],
            "at most 1,000,000"),  # asked NumPy for 1.42 PiB
    refusal("out-a-dangling-link", ["games", "--out", "{tmp}/dangling", "--steps", "5"], "which does not exist"),
    *[refusal(f"out-{what}", ["games", "--out", out, "--game", "bilinear", "--steps", "5", "--no-progress"],
              "lies inside the run folder", "nothing was written")
      for what, out in (("a-run", "{tmp}/run"), ("in-a-run", "{tmp}/run/games"))],
    refusal("out-a-folder-with-a-users-distances", ["games", "--out", "{tmp}/mine", "--steps", "5"],
            "distances.json exists", "choose a new or empty --out folder"),
])  # fmt: skip
def test_games_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)


def test_games_replaces_its_own_output(tmp_path):
    args = ["games", "--out", str(tmp_path / "g"), "--game", "bilinear", "--steps", "5", "--no-progress"]
    assert main(args) == 0 and main(args) == 0


def test_games_never_replaces_a_users_picture_beside_an_earlier_output(tmp_path, capsys):
    """An earlier games output made every file of games' names "ours": the user's kinked-sweep.png went."""
    out = tmp_path / "g"
    assert main(["games", "--out", str(out), "--game", "kinked", "--steps", "5", "--no-progress"]) == 0
    (out / "kinked-sweep.png").write_text("my own picture")
    before = files(out)
    one_line_error(capsys, ["games", "--out", str(out), "--game", "kinked", "--steps", "5", "--sweep"],
                   "kinked-sweep.png exists and was not written by improved-gan")
    assert files(out) == before
    assert main(["games", "--out", str(out), "--game", "kinked", "--steps", "5", "--no-progress"]) == 0  # no sweep
    assert (out / "kinked-sweep.png").read_text() == "my own picture"
