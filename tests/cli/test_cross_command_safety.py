"""Commands pointed at each other's outputs and at the user's own files (issue 17, the cross-command sweep).

Each case here, before, destroyed or overwrote a file, left debris, or was a traceback. In-process
(``main([...])``) with hand-made run folders (``fake_run``); nothing trains.
"""

from __future__ import annotations

import pytest
from clitools import fake_run, files, one_line_error


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


