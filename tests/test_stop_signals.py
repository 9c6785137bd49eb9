"""utils/signals.py with real processes and real signals: SIGHUP is a stop like SIGTERM, a second signal ends
the clean-up of the first at once, a signal landing in a finaliser is not lost (issue 26, item 4, and its sweep:
SIGHUP killed a resume silently; a double Ctrl-C printed a traceback; a stop inside tqdm's ``__del__`` was
printed as "Exception ignored" and dropped)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

# a command's shape: the stop handlers on, a body that works until stopped, a clean-up that takes its time
SCRIPT = textwrap.dedent("""
    import sys, time
    from improved_gan.utils.signals import exit_status, signal_name, terminate_as_interrupt

    class Slow:
        def __del__(self):  # a finaliser that runs for a while, as tqdm's may
            end = time.monotonic() + float(sys.argv[2])
            while time.monotonic() < end:
                pass

    try:
        with terminate_as_interrupt():
            print("ready", flush=True)
            while True:
                Slow()  # each one's finaliser runs as the next replaces it
                time.sleep(0.01)
    except KeyboardInterrupt as stop:
        print(f"stopped by {signal_name(stop)}", flush=True)
        time.sleep(float(sys.argv[1]))  # the clean-up
        sys.exit(exit_status(stop))
""")


def _start(cleanup_seconds: float, finaliser_seconds: float = 0.0) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(cleanup_seconds), str(finaliser_seconds)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert process.stdout.readline() == "ready\n"
    return process


@pytest.mark.parametrize("signum, status", [(signal.SIGHUP, 129), (signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_each_stop_signal_runs_the_clean_up_and_exits_with_its_status(signum, status):
    process = _start(cleanup_seconds=0.2)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == status and f"stopped by {signal.Signals(signum).name}" in out, (out, err)
    assert err == ""


def test_a_second_signal_ends_the_clean_up_at_once_with_the_first_ones_status():
    process = _start(cleanup_seconds=60)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # inside the minute of clean-up
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - started < 5 and process.returncode == 143, (out, err)
    assert err == ("stopped at once by a second signal during the clean-up of the first (SIGTERM); what a stopped "
                   "run leaves (temporary files, its lock) its next start removes\n")


def test_a_signal_inside_a_finaliser_is_delivered_again_not_dropped():
    process = _start(cleanup_seconds=0, finaliser_seconds=0.3)  # most of the time is spent in a finaliser
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143 and "stopped by SIGTERM" in out, (out, err)
    assert "Exception ignored" not in err and err == ""


DEFERRED = textwrap.dedent("""
    import sys, threading, time
    from improved_gan.utils.signals import exit_status, stop_signals_deferred, terminate_as_interrupt

    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # another thread, as torch's
    try:
        with terminate_as_interrupt():
            with stop_signals_deferred():
                print("ready", flush=True)
                time.sleep(1.0)  # a step that must not be cut in two
                print("step done", flush=True)
            time.sleep(60)
    except KeyboardInterrupt as stop:
        print("stopped after the step", flush=True)
        sys.exit(exit_status(stop))
""")


def test_a_deferred_step_ends_before_the_signal_acts_with_other_threads_running():
    """The deferral was the thread's signal mask: with another thread running, the kernel gave that thread the
    signal and Python ran the handler in the main thread anyway, cutting `sample`'s clean-up in two."""
    process = subprocess.Popen([sys.executable, "-c", DEFERRED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert out == "step done\nstopped after the step\n" and process.returncode == 143, (out, err)


IMPORTING = textwrap.dedent("""
    import pathlib, sys, time
    from improved_gan.utils.signals import exit_status, terminate_as_interrupt

    folder = pathlib.Path(sys.argv[1])
    (folder / "slow_to_import.py").write_text(
        "import time\\nprint('importing', flush=True)\\ntime.sleep(1.0)\\nLOADED = True\\n")
    sys.path.insert(0, str(folder))
    try:
        with terminate_as_interrupt():
            import slow_to_import  # an extension module's import, as numpy's or torch's, in miniature
            sys.stdout.write(f"imported: {slow_to_import.LOADED}\\n")  # one write: print's two could be cut apart
            sys.stdout.flush()
            time.sleep(60)
    except KeyboardInterrupt as stop:
        print(f"stopped; the module is whole: {'slow_to_import' in sys.modules}", flush=True)
        sys.exit(exit_status(stop))
""")


def test_a_signal_inside_an_import_lands_once_the_import_is_done(tmp_path):
    """Raised inside an import, the stop became numpy's "your installation is broken" ImportError (exit 1), or,
    under torch's C++ import code, an abort (status -6) with 80 lines of stack (the third sweep). Now it is
    delivered again once the import is done: the command stops with its status and its own clean-up."""
    process = subprocess.Popen([sys.executable, "-c", IMPORTING, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline() == "importing\n"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert out == "imported: True\nstopped; the module is whole: True\n", (out, err)
    assert process.returncode == 143 and err == "", (out, err)


FINISHING = textwrap.dedent("""
    import pathlib, sys, time
    from improved_gan.utils.signals import exit_status, terminate_as_interrupt

    folder = pathlib.Path(sys.argv[1])
    (folder / "slow_to_import.py").write_text("import time\\nprint('importing', flush=True)\\ntime.sleep(1.0)\\n")
    sys.path.insert(0, str(folder))
    try:
        with terminate_as_interrupt():
            import slow_to_import  # the command's last step: its block ends as the import does
    except KeyboardInterrupt as stop:
        print("stopped", flush=True)
        sys.exit(exit_status(stop))
    time.sleep(0.5)  # after the command: where the kept signal, sent again, found the default handler
    print("finished", flush=True)
""")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_kept_while_the_command_finished_stops_it_and_is_not_sent_after_it(signum, tmp_path):
    """A signal kept in an import (or a finaliser) was sent again 50 ms later by a timer thread, also after the
    command's block had ended and the default handlers were back: ``turing token`` printed its token, then
    "Exception ignored in threading._shutdown ... KeyboardInterrupt" (status 0), or was killed by the signal
    after its work (the fourth sweep). The timer then stopped sending once the block had ended, but the block's
    end dropped the signal still kept: a command whose last step was the import ended 0, as if never stopped
    (the sixth sweep: ``runs DIR`` under SIGTERM during its torch import, 16 of 17 tries). Now the block's end
    acts on it: the command stops with its status and its clean-up; never a traceback, never killed after."""
    process = subprocess.Popen([sys.executable, "-c", FINISHING, str(tmp_path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "importing\n"
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert (process.returncode, out, err) == (128 + signum, "stopped\n", ""), (process.returncode, out, err)
