"""Commands pointed at each other's outputs and at the user's own files (issue 17, the cross-command sweep).

Each case here, before, destroyed or overwrote a file, left debris, or was a traceback. In-process
(``main([...])``) with hand-made run folders (``fake_run``); nothing trains.
"""

from __future__ import annotations

import pytest
from clitools import fake_run, files, one_line_error


@pytest.mark.parametrize("inside", ["", "games"])
def test_games_refuses_to_write_into_a_run(inside, tmp_path, capsys):
    """`games --out RUN` wrote its PNGs and distances.json among the run's files (a run holds only its trainer's)."""
    run = fake_run(tmp_path / "run", checkpoint=True)
    before = files(run)
    one_line_error(capsys, ["games", "--out", str(run / inside), "--game", "bilinear", "--steps", "5",
                            "--no-progress"], "lies inside the run folder", "nothing was written")
    assert files(run) == before and not (run / "games").exists()


def test_turing_create_refuses_a_study_inside_a_run(tmp_path, capsys):
    """`turing create RUN/study` made a study among the run's files."""
    import numpy as np

    run = fake_run(tmp_path / "run", checkpoint=True)
    for name in ("real", "gen"):
        np.savez(tmp_path / f"{name}.npz", x=np.zeros((40, 8, 8, 1), dtype=np.uint8))
    before = files(run)
    one_line_error(capsys, ["turing", "create", str(run / "study"), "--real", str(tmp_path / "real.npz"),
                            "--generated", str(tmp_path / "gen.npz"), "--per-session", "10", "--attention-checks",
                            "1", "--tutorial", "2", "--no-progress"], "lies inside the run folder", "outside it")
    assert files(run) == before and not (run / "study").exists()


def test_ctrl_c_of_a_command_that_keeps_no_checkpoint_says_so(tmp_path, capsys, monkeypatch):
    """`games`, `sample` and `turing create` said "the last checkpoint is kept; continue with --resume"."""
    from improved_gan.cli.main import main
    from improved_gan.games import experiment

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "run_experiment", interrupted)
    assert main(["games", "--out", str(tmp_path / "g"), "--steps", "5", "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: nothing was left half-written") and "improved-gan resume" not in err
