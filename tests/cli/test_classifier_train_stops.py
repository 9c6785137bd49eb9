"""`improved-gan classifier train` stopped by a signal while its progress bar is drawn: the stop line stands on a
line of its own after the bar, and nothing is drawn after it (the fifth sweep: the line was written inside the
bar's, which was drawn again after it once the interpreter let go of the bar). A real process on a
pseudo-terminal (bars are drawn on a terminal only), a real signal, on the real MNIST files (skipped without them).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest

def _stderr(chunks: list[bytes]) -> str:
    """What the command wrote to its terminal so far, carriage returns kept (the pty turns "\\n" into "\\r\\n")."""
    return b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


def _read_terminal(leader: int, chunks: list[bytes]) -> None:
    """Collect what is written to the pseudo-terminal until its writer closes it (the reader then gets EIO)."""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            return
        if not chunk:
            return
        chunks.append(chunk)


SAYS = "nothing was left half-written (files are written atomically); run the command again"


@pytest.mark.parametrize("signum, status, said", [
    (signal.SIGINT, 130, f"interrupted: {SAYS}"),
    (signal.SIGTERM, 143, f"terminated (SIGTERM): {SAYS}"),
], ids=["SIGINT", "SIGTERM"])  # fmt: skip
def test_a_stop_line_comes_after_the_progress_bar(signum, status, said, tmp_path, shared_data):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "IMPROVED_GAN_CACHE": str(tmp_path / "cache")}
    argv = ["classifier", "train", "--data-dir", str(shared_data), "--epochs", "20", "--train-images", "6000",
            "--out", str(tmp_path / "c.pt")]  # minutes of steps: stopped long before its end
    leader, follower = pty.openpty()  # bars are drawn on a terminal only (utils/progress.bars_shown)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))  # tqdm draws nothing in 0x0
    chunks: list[bytes] = []
    process = subprocess.Popen([sys.executable, "-m", "improved_gan", *argv], stdout=subprocess.PIPE,
                               stderr=follower, text=True, env=env)
    os.close(follower)
    reader = threading.Thread(target=_read_terminal, args=(leader, chunks), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not re.search(r"training classifier: .*\| *[1-9]\d*/\d+ ", _stderr(chunks)):
            assert process.poll() is None, (process.communicate(), _stderr(chunks))
            assert time.monotonic() < deadline, "no step was drawn"
            time.sleep(0.1)
        process.send_signal(signum)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    os.close(leader)
    err = _stderr(chunks)
    assert process.returncode == status, err
    bar, _, rest = err.rpartition("\n" + said + "\n")
    assert rest == "" and bar, f"the stop line is not a line of its own, the last one: {err[-600:]!r}"
    assert out == "" and not (tmp_path / "c.pt").exists()
