"""Stopping a command: SIGTERM and SIGHUP are handled as SIGINT, a second signal stops at once, and worker
processes end with their parent.

``kill PID`` sends SIGTERM (so do ``timeout`` and job schedulers); a closing terminal sends SIGHUP. Under
:func:`terminate_as_interrupt` either raises :class:`Terminated` in the main thread, a ``KeyboardInterrupt``,
so every clean-up that Ctrl-C runs runs for it too (a run's lock is released, no file is left half-written,
the command says how to continue); :func:`exit_status` is then 128 + the signal's number (143 for SIGTERM,
129 for SIGHUP, 130 for Ctrl-C), as the shell reports a process the signal ended.

The first signal starts that clean-up; a second one, while it runs, ends the process at once with the first
one's status and one line (what a killed process leaves, temporary files of atomic writes, the next start
removes; a run's lock is an OS lock and dies with the process). A signal that lands inside a finaliser
(``__del__``, where Python would print the exception and carry on) or inside an import (where an extension
module turns it into an ImportError, "your installation is broken", or C++ code that cannot pass it on aborts
the process) is delivered again a moment later instead, until the finaliser or the import is done; one that
is still kept when the command's block ends (it ended before the signal was sent again) stops the command then:
it arrived while the command ran, so the command ends with its status and its line, though its work may be done.
A signal that arrives once the block has ended is not the command's: in the command's own process it ends the
process by that signal (the OS's default action, for SIGINT too: Python's own handler would raise
KeyboardInterrupt inside the interpreter's exit, in torch's atexit finaliser, printed as "Exception ignored" with
a traceback, and exit 0).

A stop's line starts a line of its own: a signal handled between the two writes of a ``print`` (its text, then its
newline; with unbuffered output, PYTHONUNBUFFERED, one that arrives during a print often is) leaves the text's
line open, and :func:`on_its_own_line` puts the missing newline ahead of the stop's line (stderr is watched for
open lines within :func:`stderr_lines_watched`, around a command).

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
from types import FrameType
from typing import Any, Iterator, TextIO

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal this process gets when its parent ends (Linux)."""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals that stop a command with its clean-up: Ctrl-C, ``kill``, a closing terminal."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (``signum``): a KeyboardInterrupt, so that what cleans up after Ctrl-C cleans up
    after it too."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopHandler:
    """The handler of :data:`STOP_SIGNALS`: the first raises (KeyboardInterrupt for SIGINT, else
    :class:`Terminated`); a later one ends the process at once (module docstring), or, in a worker
    (``later="ignore"``), is ignored: its parent sends SIGTERM after a Ctrl-C has reached the whole process
    group, and kills a worker that has not stopped in time itself.

    A signal that arrives inside a finaliser, or inside :func:`stop_signals_deferred`, is kept (``pending``)
    and acted on when that ends. The deferral is the handler's, not the thread's signal mask: with other
    threads running (torch's), the kernel hands a blocked signal to one of them and Python runs the handler
    in the main thread all the same."""

    def __init__(self, later: str = "exit") -> None:
        self.first: int | None = None
        self.later = later
        self.deferring = 0
        self.pending: int | None = None
        self.closed = False  # the command's block ended: a kept signal is not sent again (close)
        self._sending = threading.Lock()  # closing and sending again do not interleave

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.deferring:
            self.pending = self.pending or signum
            return
        if self.first is not None:
            if self.later == "ignore":
                return
            first = signal.Signals(self.first).name
            os.write(2, on_its_own_line(f"stopped at once by a second signal during the clean-up of the first "
                                        f"({first}); what a stopped run leaves (temporary files, its lock) its next "
                                        "start removes\n").encode())
            os._exit(128 + self.first)
        if _cannot_raise_here(frame):  # in a finaliser or an import: raised here, it would be lost or worse
            self.pending = signum
            timer = threading.Timer(0.05, self._deliver_pending)
            timer.daemon = True  # never waited for at exit: interpreter shutdown does not wait to send a signal
            timer.start()
            return
        self.pending = None
        self.first = signum
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)

    def _deliver_pending(self) -> None:
        """From a timer thread: the signal kept in a finaliser or an import, sent again unless another took its
        place or the command's block has ended (:meth:`close`): sent after it, it would find the default handler
        and kill a command that had finished, or raise inside the interpreter's shutdown (the fourth sweep)."""
        with self._sending:
            if self.pending is not None and self.first is None and not self.closed:
                os.kill(os.getpid(), self.pending)

    def close(self) -> int | None:
        """The block ended with no signal acted on: none is sent again from now on. Returns the signal still kept,
        if one is: it arrived while the block was open (in an import or a finaliser that ended just before the
        block did, so it was not sent again in time), and the caller acts on it (:func:`terminate_as_interrupt`);
        before, it was dropped here, and `runs` ended 0 with its table after a SIGTERM that landed 2 s before,
        in its torch import (the sixth sweep)."""
        with self._sending:
            self.closed = True
            kept, self.pending = self.pending, None
        return kept

    def act_on_pending(self) -> None:
        """In the main thread, at the end of a deferral: the signal kept meanwhile, as if it arrived now."""
        if self.pending is not None and not self.deferring:
            signum, self.pending = self.pending, None
            self(signum, None)


def _cannot_raise_here(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside a finaliser (an exception raised there is printed and dropped) or inside an
    import (importlib's own frames are on the stack: an extension module being loaded, numpy's or torch's, turns
    the exception into an ImportError or aborts the process)."""
    while frame is not None:
        if frame.f_code.co_name == "__del__" or frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


@contextmanager
def terminate_as_interrupt(then_default: bool = False) -> Iterator[None]:
    """Within the block, the :data:`STOP_SIGNALS` stop the command as Ctrl-C does (module docstring; in the main
    thread: elsewhere a signal handler cannot be set, and nothing changes). After a block that no signal ended,
    the previous handlers are restored, or with ``then_default`` (the block is the process's command: what is
    left is its exit) the OS's default actions, which end the process by the signal; after one that a signal
    ended, a second signal still ends the process at once, also while it exits. A signal kept (in an import or
    a finaliser) when the block ends is acted on as the block ends: raised from it, as if it had arrived then."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = StopHandler()
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        if handler.first is None:
            kept = handler.close()
            if kept is not None:
                handler(kept, None)  # raises (the handlers stay: a second signal ends the process at once)
            for signum, old in previous.items():
                signal.signal(signum, signal.SIG_DFL if then_default else old)


@contextmanager
def stop_signals_deferred() -> Iterator[None]:
    """The :data:`STOP_SIGNALS` wait for the end of the block, then act as ever: for a short step that must not
    be cut in two (a staging folder made and named, or removed). Under :func:`terminate_as_interrupt` (or in a
    worker) only; elsewhere the block runs as it is."""
    handler = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if not isinstance(handler, StopHandler):
        yield
        return
    handler.deferring += 1
    try:
        yield
    finally:
        handler.deferring -= 1
        handler.act_on_pending()


class _WatchedLines:
    """A text stream passed through (every attribute but ``write`` is the stream's), remembering whether what was
    last written to it left a line open."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.open = False

    def write(self, text: str) -> int:
        if text:  # set first: a signal handled inside the write or just after it finds the text written
            self.open = not text.endswith(("\n", "\r"))  # after a carriage return the next text starts the line
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def stderr_lines_watched() -> Iterator[None]:
    """Within the block, ``sys.stderr`` is itself behind a watch of its open lines, for :func:`on_its_own_line`
    (the watch is the stream at ``sys.stderr``: nothing else keeps it)."""
    watched = _WatchedLines(sys.stderr)
    sys.stderr = watched
    try:
        yield
    finally:
        if sys.stderr is watched:  # unless the block put another stream there
            sys.stderr = watched.stream


def on_its_own_line(text: str) -> str:
    """``text`` (a stop's line) led by a newline where a write to stderr, watched (:func:`stderr_lines_watched`),
    left a line open: a ``print`` whose newline a stop signal cut off (the sixth sweep: `score` printed "...not
    with docs/metrics.mdterminated (SIGTERM): ..."). Asked of the stream now at ``sys.stderr``, where the line
    goes; one that is not watched has no open line known."""
    stream = sys.stderr
    return "\n" + text if isinstance(stream, _WatchedLines) and stream.open else text


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 129 for SIGHUP (:class:`Terminated`), 130 for Ctrl-C."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def signal_name(interrupt: KeyboardInterrupt) -> str:
    """``"SIGTERM"``, ``"SIGHUP"`` or ``"SIGINT"``: the signal behind ``interrupt``."""
    return signal.Signals(getattr(interrupt, "signum", signal.SIGINT)).name


def end_with_parent(parent_pid: int) -> None:
    """In a worker process: the :data:`STOP_SIGNALS` stop it as in :func:`terminate_as_interrupt` (a second one is
    ignored: :class:`StopHandler`), and SIGTERM when the parent ``parent_pid`` ends (PR_SET_PDEATHSIG where the
    OS has it); a parent already gone ends the worker at once."""
    handler = StopHandler(later="ignore")  # the parent's SIGTERM after a Ctrl-C to the group: one stop
    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent ended before the request was made
        os._exit(128 + signal.SIGTERM)
