"""Progress bars are drawn on a terminal only (utils/progress.py): a log or a pipe gets no carriage-return frames.

`eval RUN 2> log` filled the log with tqdm's frames of its test batches (the seventh sweep's issue 26), while
`sample` and `score` kept their bars off a terminal: every command now asks the one rule. A tiny real run, then
`eval` in a fresh interpreter with stderr a pipe, and with stderr a pseudo-terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest
from clitools import cli
from tiny_run import TINY


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("progress") / "run"
    cli("train", "mnist-fm", "--out", str(folder), *[a if a != "3" else "1" for a in TINY], "--device", "cpu")
    return folder


def test_train_draws_no_bars_into_a_pipe(tmp_path):
    """`train ... 2> log` drew its epoch and iteration bars there (found beside the seventh sweep's fixes), as did
    `resume`, `demo`, `reproduce`, `games`, `classifier train` and `turing create`: each asks the rule now."""
    flags = [a if a != "3" else "1" for a in TINY if a != "--no-progress"]  # bars asked for
    result = cli("train", "mnist-fm", "--out", str(tmp_path / "run"), *flags, "--device", "cpu")
    assert "epoch 1" in result.stdout + result.stderr
    assert "\r" not in result.stderr and "%|" not in result.stderr, result.stderr


def test_eval_draws_no_bars_into_a_pipe(run):
    result = cli("eval", str(run), "--device", "cpu")
    assert "test errors" in result.stdout
    assert "\r" not in result.stderr and "%|" not in result.stderr, result.stderr


def test_eval_draws_its_bars_on_a_terminal(run):
    """The other side of the rule: with stderr a terminal the bars are there (and --no-progress hides them)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    drawn = {}
    for flags in ([], ["--no-progress"]):
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # tqdm draws nothing in 0x0
        with os.fdopen(leader, "rb", buffering=0) as terminal:
            process = subprocess.Popen([sys.executable, "-m", "improved_gan", "eval", str(run), "--device", "cpu",
                                        *flags], stdout=subprocess.DEVNULL, stderr=follower, env=env)
            os.close(follower)  # the child's is the only one left: the reader sees the end when the child exits
            drawn[bool(flags)] = _read_all(terminal)  # read while it runs: a full terminal would block its writes
            assert process.wait(timeout=300) == 0
    assert b"discriminator" in drawn[False] and b"\r" in drawn[False], drawn
    assert b"discriminator" not in drawn[True], drawn


def _read_all(terminal) -> bytes:
    """All that is written to the pseudo-terminal until its writer closes it (the reader then gets EIO)."""
    data = b""
    while True:
        try:
            chunk = terminal.read(65536)
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk
