"""Whether a progress bar is drawn: the one rule every command's bars follow.

A bar is drawn when it is asked for (no ``--no-progress``) and stderr is a terminal. Off a terminal (``2> log``,
a pipe, a job scheduler's capture) a bar is a stream of carriage-return frames that fills the file, and a
cleared bar left before an error; what a log needs is said in lines (a trainer's per-epoch lines), which do not
depend on this rule. Light: no tqdm, no torch.
"""

from __future__ import annotations

import sys


def bars_shown(asked: bool = True) -> bool:
    """Whether to draw progress bars: ``asked`` (not turned off by ``--no-progress``) and ``sys.stderr``, where
    tqdm draws them, is a terminal."""
    return asked and sys.stderr.isatty()
