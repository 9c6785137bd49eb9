"""`improved-gan classifier train` stopped by a signal while its progress bar is drawn: the stop line stands on a
line of its own after the bar, and nothing is drawn after it (the fifth sweep: the line was written inside the
bar's, which was drawn again after it once the interpreter let go of the bar). A real process, a real signal,
on the real MNIST files (skipped without them).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

def _stderr(folder) -> str:
    """What the command wrote to stderr so far, its carriage returns kept (a text read would make them newlines)."""
    return (folder / "err").read_bytes().decode()


SAYS = "nothing was left half-written (files are written atomically); run the command again"


@pytest.mark.parametrize("signum, status, said", [
    (signal.SIGINT, 130, f"interrupted: {SAYS}"),
    (signal.SIGTERM, 143, f"terminated (SIGTERM): {SAYS}"),
], ids=["SIGINT", "SIGTERM"])  # fmt: skip
def test_a_stop_line_comes_after_the_progress_bar(signum, status, said, tmp_path, shared_data):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "IMPROVED_GAN_CACHE": str(tmp_path / "cache")}
    argv = ["classifier", "train", "--data-dir", str(shared_data), "--epochs", "20", "--train-images", "6000",
            "--out", str(tmp_path / "c.pt")]  # minutes of steps: stopped long before its end
    with open(tmp_path / "err", "w") as err_file:  # tqdm draws on a pipe or a file too
        process = subprocess.Popen([sys.executable, "-m", "improved_gan", *argv], stdout=subprocess.PIPE,
                                   stderr=err_file, text=True, env=env)
        try:
            deadline = time.monotonic() + 180
            while not re.search(r"training classifier: .*\| *[1-9]\d*/\d+ ", _stderr(tmp_path)):
                assert process.poll() is None, (process.communicate(), _stderr(tmp_path))
                assert time.monotonic() < deadline, "no step was drawn"
                time.sleep(0.1)
            process.send_signal(signum)
            out, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    err = _stderr(tmp_path)
    assert process.returncode == status, err
    bar, _, rest = err.rpartition("\n" + said + "\n")
    assert rest == "" and bar, f"the stop line is not a line of its own, the last one: {err[-600:]!r}"
    assert out == "" and not (tmp_path / "c.pt").exists()
