"""``improved-gan games`` end to end: the PNGs, the JSON and the printed distances."""

from __future__ import annotations

import json

import pytest

from clitools import cli
from improved_gan.cli.main import main
from improved_gan.games import GamesSettings, KinkedGame, Method, run_game
from improved_gan.games.experiment import run_experiment

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_games_writes_the_pictures_and_prints_the_measured_distances(tmp_path, capsys):
    out = tmp_path / "games"
    assert main(["games", "--out", str(out), "--steps", "300", "--lr", "0.05", "--weight", "0.5"]) == 0
    printed = capsys.readouterr().out
    for name in ("bilinear-trajectories", "bilinear-distance", "kinked-trajectories", "kinked-distance"):
        assert (out / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
        assert f"wrote {out / name}.png" in printed
    results = json.loads((out / "distances.json").read_text())
    assert (results["lr"], results["steps"], results["history_weight"]) == (0.05, 300, 0.5)
    assert len(results["runs"]) == 12 and "sweep" not in results

    expected = run_game(KinkedGame(), Method("simultaneous", 0.5), lr=0.05, steps=300).final_distance
    (row,) = [r for r in results["runs"] if (r["game"], r["rule"], r["history_weight"]) == ("kinked", "simultaneous", 0.5)]
    assert row["final_distance"] == expected
    (line,) = [l for l in printed.splitlines() if l.startswith("kinked") and "simultaneous GD + HA (w=0.5)" in l]
    assert line.endswith(f"{expected:.3e}")
    assert printed.splitlines()[0] == "lr=0.05, steps=300, historical-averaging weight=0.5"


def test_games_sweep_on_one_game_from_a_chosen_start(tmp_path, capsys):
    out = tmp_path / "games"
    assert main(["games", "--out", str(out), "--game", "kinked", "--steps", "60", "--start", "2", "0", "--sweep"]) == 0
    printed = capsys.readouterr().out
    assert "sweep, game 2, simultaneous GD + HA: final distance after 60 steps\nlr \\ w  " in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "distances.json",
        "kinked-distance.png",
        "kinked-sweep.png",
        "kinked-trajectories.png",
    ]
    results = json.loads((out / "distances.json").read_text())
    assert {tuple(r["start"]) for r in results["runs"]} == {(2.0, 0.0)}
    sweep = results["sweep"]
    assert len(sweep["final_distance"]) == len(sweep["lrs"]) == 5
    assert all(len(row) == len(sweep["weights"]) == 6 for row in sweep["final_distance"])
    assert (sweep["game"], sweep["rule"], sweep["steps"]) == ("kinked", "simultaneous", 60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "--steps must be a positive number of updates (got 0)"),
        (["--lr", "-0.1"], "--lr must be a positive step size (got -0.1)"),
        (["--lr", "nan"], "--lr must be a positive step size (got nan)"),
        (["--weight", "0"], "--weight must be positive: it is the historical-averaging weight (got 0.0)"),
        (["--start", "1", "inf"], "--start must be two finite numbers X Y (got 1.0 inf)"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, args, message):
    assert main(["games", "--out", str(tmp_path / "o"), *args]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "o").exists()


def test_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["games", "--out", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err == (f"error: --out {tmp_path / 'file'} is a file, not a folder; name a folder "
                                       "(nothing was written)\n")


def test_the_installed_command_runs(tmp_path):
    result = cli("games", "--out", str(tmp_path), "--game", "bilinear", "--steps", "50")
    assert "bilinear  simultaneous GD" in result.stdout
    assert (tmp_path / "bilinear-distance.png").is_file()


def test_a_progress_bar_on_stderr_names_each_run_and_no_progress_turns_it_off(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # a terminal (utils/progress.bars_shown)
    args = ["games", "--game", "kinked", "--steps", "20", "--sweep"]
    assert main([*args, "--out", str(tmp_path / "shown")]) == 0
    shown = capsys.readouterr()
    assert "0/36 " in shown.err  # 6 methods + 5 x 6 sweep cells
    assert "kinked: simultaneous GD + HA (w=0.5)" in shown.err
    assert "kinked: optimistic GD (not in paper)" in shown.err
    assert "kinked sweep: simultaneous GD + HA (w=2), 5 step sizes" in shown.err
    assert shown.out.startswith("lr=0.05, steps=20, historical-averaging weight=0.5\ngame ")  # no bar on stdout

    assert main([*args, "--out", str(tmp_path / "quiet"), "--no-progress"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""
    assert quiet.out == shown.out.replace(str(tmp_path / "shown"), str(tmp_path / "quiet"))


def test_the_library_shows_no_bar_unless_asked(tmp_path, capsys):
    report = run_experiment(tmp_path, GamesSettings(games=("bilinear",), lr=0.05, steps=10, history_weight=0.5))
    assert len(report.trajectories) == 6
    assert capsys.readouterr() == ("", "")
