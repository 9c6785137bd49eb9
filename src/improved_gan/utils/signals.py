"""Stopping a command: SIGTERM is handled as SIGINT, and worker processes end with their parent.

``kill PID`` sends SIGTERM (so do ``timeout``, job schedulers and a closing terminal). Under
:func:`terminate_as_interrupt` it raises :class:`Terminated` in the main thread, a
``KeyboardInterrupt``, so every clean-up that Ctrl-C runs runs for it too (a run's lock is released,
no file is left half-written, the command says how to continue); :func:`exit_status` is then
143 (128 + SIGTERM) rather than Ctrl-C's 130, as the shell reports a process the signal ended.

A worker process calls :func:`end_with_parent` first: Linux sends it SIGTERM when its parent
ends, however the parent ends (SIGKILL included), and the SIGTERM runs the same clean-up in the
worker. The parent stops its workers itself when it is interrupted (training/parallel_runs.py).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal this process gets when its parent ends (Linux)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: a KeyboardInterrupt, so that what cleans up after Ctrl-C cleans up after it too."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (in the main thread; elsewhere a signal handler
    cannot be set, and nothing changes). The previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM (:class:`Terminated`), 130 for Ctrl-C (SIGINT)."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


def end_with_parent(parent_pid: int) -> None:
    """In a worker process: SIGTERM when the parent ``parent_pid`` ends (PR_SET_PDEATHSIG where the OS has it),
    handled as :class:`Terminated`; a parent already gone ends the worker at once."""
    signal.signal(signal.SIGTERM, _raise_terminated)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent ended before the request was made
        os._exit(128 + signal.SIGTERM)
