"""Commands pointed at each other's outputs and at the user's own files (issue 17, the cross-command sweep).

Each case here, before, destroyed or overwrote a file, left debris, or was a traceback. In-process
(``main([...])``) with hand-made run folders (``fake_run``); nothing trains.
"""

from __future__ import annotations

import pytest
from clitools import fake_run, files, one_line_error


@pytest.mark.parametrize("name", ["samples/epoch-0002.png", "test_errors.png", "mine.npz", "pngs"])
def test_sample_refuses_a_new_file_inside_a_run(name, tmp_path, capsys):
    """`sample RUN --out RUN/samples/epoch-0002.png` was written, and `train --resume RUN` then wrote the
    epoch's grid over it: the run folder holds only what its trainer writes."""
    run = fake_run(tmp_path / "run", checkpoint=True)
    (run / "samples").mkdir()
    before = files(run)
    one_line_error(capsys, ["sample", str(run), "--n", "4", "--out", str(run / name)],
                   "lies inside the run folder", "nothing was written")
    assert files(run) == before
