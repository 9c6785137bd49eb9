"""A stop signal that arrives once a command has finished, while the interpreter exits (its finalisers and atexit
callbacks, torch's among them): the process ends by that signal, as a shell shows (130, 143, 129), without a
line and without a traceback (the sixth sweep of issue 26: Ctrl-C within 50 ms of `eval RUN`'s or `sample RUN`'s
result line printed "Exception ignored in atexit callback: <bound method finalize._exitfunc ...>", a traceback
through torch/library.py's `_del_library` ending in KeyboardInterrupt, and exit status 0: Python's own SIGINT
handler, put back after the command, raised it inside the exit). A real process and a real signal, sent from
an atexit callback of the child (the command as its console script runs it), so that it lands in the exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from clitools import fake_run

# the `improved-gan` command as its console script runs it, with a finaliser at exit that a signal interrupts
AT_EXIT = textwrap.dedent("""
    import atexit, os, signal, sys, time

    def finaliser():  # as torch's at the interpreter's exit, the signal arriving while it runs
        os.kill(os.getpid(), int(os.environ["STOP_SIGNAL"]))
        time.sleep(1.0)
        print("the finaliser ran to its end", file=sys.stderr, flush=True)

    atexit.register(finaliser)
    sys.argv = ["improved-gan", *sys.argv[1:]]
    from improved_gan.cli.main import main
    sys.exit(main())
""")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_while_the_interpreter_exits_ends_the_process_by_it(signum, tmp_path):
    fake_run(tmp_path / "runs" / "r", checkpoint=True)  # runs reads it with torch: torch is imported
    result = subprocess.run([sys.executable, "-c", AT_EXIT, "runs", str(tmp_path / "runs")], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "STOP_SIGNAL": str(int(signum))})
    assert (result.returncode, result.stderr) == (-signum, ""), (result.returncode, result.stdout, result.stderr)
    assert "unfinished" in result.stdout  # the command's work was done and printed before
