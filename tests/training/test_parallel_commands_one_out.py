"""Two commands that train several runs (``reproduce table1``, ``demo``) into one ``--out`` at the same instant:
exactly one gets the folder's runs, the other is refused in one line before any worker starts, naming the
process that holds the folder.

The ninth sweep: the check that refuses runs another process trains saw only the run locks already taken, and the
workers take theirs ~17 s after start under load: both commands exited 2, each having won one run ("rp3/l100-s1 is
being trained by process N now"), and neither wrote table1.md; or one failed after ~24 s with "2 of 2 runs failed".
Real processes, started together (each waits for one moment to go, so neither is ahead by its interpreter's start).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from clitools import cli
from tiny_run import TINY_TABLE1

_AT_ONCE = "import sys, time, runpy; t = float(sys.argv.pop(1)); time.sleep(max(0.0, t - time.time())); " \
           "sys.argv[0] = 'improved-gan'; runpy.run_module('improved_gan', run_name='__main__')"


def _start(at: float, *argv: str) -> subprocess.Popen:
    """``improved-gan ARGV`` in a fresh interpreter, whose command begins at the clock time ``at``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", _AT_ONCE, str(at), *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _one_wins(out: Path, argv: list[str], made: str, delay: float = 0.0) -> None:
    at = time.time() + 8  # both interpreters are up (torch imported lazily: well under 8 s even under load)
    first, second = _start(at, *argv), _start(at + delay, *argv)
    results = [(p.pid, *p.communicate(timeout=600), p.returncode) for p in (first, second)]
    won = [r for r in results if r[3] == 0]
    lost = [r for r in results if r[3] != 0]
    assert len(won) == 1 and len(lost) == 1, results
    winner, (_, _, err, status) = won[0][0], lost[0]
    assert status == 2 and err.startswith("error: ") and err.count("\n") == 1, results
    assert f"{out} is in use by process {winner} now" in err, err  # the holder named, in one line
    assert "Traceback" not in err and "runs failed" not in err
    assert (out / made).is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".improved-gan")], "its lock file stayed"


def test_two_tables_into_one_out_at_the_same_instant(tmp_path):
    out = tmp_path / "rp3"
    _one_wins(out, ["reproduce", "table1", *TINY_TABLE1, "--epochs", "1", "--labels", "20", "--seeds", "0,1",
                    "--jobs", "2", "--no-ensemble", "--out", str(out)], "table1.md")


def test_two_tables_into_one_out_a_moment_apart(tmp_path):
    out = tmp_path / "rp3"
    _one_wins(out, ["reproduce", "table1", *TINY_TABLE1, "--epochs", "1", "--labels", "20", "--seeds", "0,1",
                    "--jobs", "2", "--no-ensemble", "--out", str(out)], "table1.md", delay=2.5)


def test_a_demo_into_a_folder_another_command_holds_is_refused_before_any_worker(tmp_path):
    """`demo --out dm3` twice: the same code; the first command's hold (its lock file, flock-ed, holding its process
    id) is held here by this test, and the second demo is refused in one line, having made no run folder."""
    import fcntl

    out = tmp_path / "dm3"
    out.mkdir()
    with open(out / ".improved-gan.pid", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(f"{os.getppid()}\n")
        held.flush()
        result = cli("demo", "--epochs", "1", "--out", str(out), "--no-progress", check=False)
    assert (result.returncode, result.stderr) == (2, (
        f"error: --out {out} is in use by process {os.getppid()} now (another command training its runs there); "
        "wait for it or stop it first, or choose another --out (nothing was started)\n"))
    assert sorted(p.name for p in out.iterdir()) == [".improved-gan.pid"]  # no run folder: no worker started


def test_a_file_of_the_users_where_the_lock_goes_stays(tmp_path):
    out = tmp_path / "dm3"
    out.mkdir()
    (out / ".improved-gan.pid").write_text("my notes\n")
    result = cli("demo", "--epochs", "1", "--out", str(out), "--no-progress", check=False)
    assert (result.returncode, result.stderr) == (2, (
        f"error: {out / '.improved-gan.pid'} is a file that improved-gan did not write: the lock file of a command "
        "goes there; move it away and run again (nothing was changed)\n"))
    assert (out / ".improved-gan.pid").read_text() == "my notes\n"
