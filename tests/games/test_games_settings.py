"""GamesSettings: the ranges of an experiment's choices, and the folder it may write (games/settings.py)."""

from __future__ import annotations

import json
import math

import pytest

from improved_gan.errors import UserError
from improved_gan.games import GAMES
from improved_gan.games.settings import GAME_NAMES, MAX_START, MAX_STEPS, GamesSettings


def test_the_names_are_those_of_the_games():
    assert GAME_NAMES == tuple(GAMES)


@pytest.mark.parametrize(("changes", "says"), [
    ({"steps": 0}, "--steps must be a positive number of updates (got 0)"),
    ({"steps": MAX_STEPS + 1}, f"--steps must be at most {MAX_STEPS:,}"),
    ({"lr": 0.0}, "--lr must be a positive step size (got 0.0)"),
    ({"lr": math.inf}, "--lr must be a positive step size (got inf)"),
    ({"history_weight": -1.0}, "--weight must be positive"),
    ({"history_weight": math.nan}, "--weight must be positive"),
    ({"start": (0.0, math.nan)}, "--start must be two finite numbers X Y (got 0.0 nan)"),
    ({"start": (MAX_START * 2, 0.0)}, f"--start must lie within {MAX_START:,.0f} of the origin"),
])  # fmt: skip
def test_a_value_the_runs_cannot_use_is_refused(changes, says):
    with pytest.raises(UserError, match="^" + says.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        GamesSettings(**changes)


def test_the_extremes_of_each_range_are_taken():
    settings = GamesSettings(steps=MAX_STEPS, lr=1e-9, history_weight=1e-9, start=(-MAX_START, MAX_START))
    assert settings.steps == MAX_STEPS


def test_the_outputs_are_the_files_of_each_game_and_the_sweep():
    assert GamesSettings(games=("kinked",)).outputs() == [
        "distances.json", "kinked-trajectories.png", "kinked-distance.png"]
    assert "kinked-sweep.png" in GamesSettings(games=("bilinear",), sweep=True).outputs()


def test_check_out_replaces_only_an_earlier_output(tmp_path):
    settings = GamesSettings(games=("bilinear",))
    settings.check_out(tmp_path / "new")  # a folder still to be made
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "distances.json").write_text(
        json.dumps({"lr": 0.05, "steps": 5, "history_weight": 0.5, "runs": []}))
    settings.check_out(tmp_path / "earlier")
    (tmp_path / "earlier" / "bilinear-distance.png").write_text("the user's own picture")
    with pytest.raises(UserError, match="bilinear-distance.png exists and was not written by improved-gan"):
        settings.check_out(tmp_path / "earlier")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "distances.json").write_text('{"mine": 1}')
    with pytest.raises(UserError, match="distances.json exists"):
        settings.check_out(tmp_path / "mine")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        settings.check_out(tmp_path / "file")
