"""`improved-gan runs DIR` stopped by a signal while it imports torch (to read a run's checkpoint): it stops with
its status and one line (the sixth sweep of issue 26: SIGTERM 0.2-2.0 s after the start printed the full table
and exited 0 in 16 of 17 tries). The signal landed in the import and was kept, to be sent again 50 ms later;
`runs` finished its table within those 50 ms, and the end of the command's block dropped the signal still kept
as if it had arrived after the command. A real process and a real signal; the import of the checkpoint module is
made to last a second (a finder ahead of Python's own, in the child), so that the signal lands inside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from clitools import fake_run

# the `improved-gan` command (as its console script runs it), its import of the checkpoint module slowed down
SLOW_IMPORT = textwrap.dedent("""
    import importlib.abc, sys, time

    class SlowImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):  # inside the import machinery, as torch's import is
            if name == "improved_gan.runs.checkpoint":
                sys.meta_path.remove(self)
                print("importing", flush=True)
                time.sleep(1.0)
            return None

    sys.meta_path.insert(0, SlowImport())
    sys.argv = ["improved-gan", *sys.argv[1:]]
    from improved_gan.cli.main import main
    sys.exit(main())
""")

SAYS = "nothing was left half-written (files are written atomically); run the command again"


@pytest.mark.parametrize("signum, said", [(signal.SIGTERM, f"terminated (SIGTERM): {SAYS}"),
                                          (signal.SIGINT, f"interrupted: {SAYS}")], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_the_import_of_torch_stops_runs(signum, said, tmp_path):
    fake_run(tmp_path / "runs" / "r", checkpoint=True)
    process = subprocess.Popen([sys.executable, "-c", SLOW_IMPORT, "runs", str(tmp_path / "runs")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert process.stdout.readline() == "importing\n"  # the command ends by itself: nothing to kill
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (128 + signum, said + "\n"), (process.returncode, out, err)
