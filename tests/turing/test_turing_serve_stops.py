"""`turing serve` stops as every command does (docs/cli.md, "Signals, locks and links"), with real processes.

SIGINT, SIGTERM and SIGHUP end it with 130, 143 or 129 and one line, no traceback (it exited 0 with uvicorn's
log, and SIGHUP gave a traceback); a second Ctrl-C during the shutdown stops it at once (a 40-line traceback
and exit status 0); SIGHUP stops `--workers 2` and its workers (uvicorn restarted them and went on serving);
the workers end with a parent killed by SIGKILL (they went on serving under init, holding the port).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

STARTED = "Application startup complete."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """``improved-gan turing serve`` of one study in a process group of its own (the group's signals reach
    neither pytest nor the other tests), its standard error in a file (a pipe would be held open by workers)."""

    def __init__(self, folder: Path, tmp_path: Path, *, workers: int = 1) -> None:
        self.port = _free_port()
        self.workers = workers
        self.stderr_path = tmp_path / f"serve-{self.port}.stderr"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "improved_gan", "turing", "serve", str(folder), "--port", str(self.port),
                 "--workers", str(workers)],
                stdout=subprocess.DEVNULL, stderr=stderr, env=env, start_new_session=True)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_until_serving(self, timeout: float = 120) -> None:
        """Until every worker has started and the server answers HTTP (uvicorn installs its handlers late)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve ended ({self.process.returncode}):\n{self.stderr}"
            if self.stderr.count(STARTED) >= self.workers and self._answers():
                return
            time.sleep(0.2)
        pytest.fail(f"serve did not answer within {timeout} s:\n{self.stderr}")

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/s/demo/", timeout=5).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def children(self) -> list[int]:
        """The server's child processes now (the workers and multiprocessing's resource tracker), from /proc."""
        return [pid for pid in _pids() if _parent_of(pid) == self.process.pid]

    def finish(self, timeout: float = 30) -> int:
        """The exit status, once it has ended; a server that did not end in ``timeout`` is a failure."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running {timeout} s after the signal:\n{self.stderr}")

    def kill_all(self) -> None:
        """Whatever of the server's group is left (the test's own clean-up)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()  # after the command's name, which may hold spaces
    except OSError:
        return None


def _parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"  # a zombie has ended


def _wait_gone(pids: list[int], timeout: float = 20) -> list[int]:
    """The processes of ``pids`` still alive after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@pytest.fixture
def served(make_study, tmp_path):
    """``served(workers=1)``: a started ``turing serve`` of a small study; every process of it killed at the end."""
    started: list[Served] = []
    study = make_study("demo", invitations=0)

    def start(*, workers: int = 1) -> Served:
        server = Served(study.folder, tmp_path, workers=workers)
        started.append(server)
        server.wait_until_serving()
        return server

    yield start
    for server in started:
        server.kill_all()


def _last_line(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


@pytest.mark.parametrize("signum, status, said", [
    (signal.SIGINT, 130, "interrupted: "),
    (signal.SIGTERM, 143, "terminated (SIGTERM): "),
    (signal.SIGHUP, 129, "terminated (SIGHUP): "),
], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_ends_serve_as_every_command(served, signum, status, said):
    server = served()
    os.kill(server.process.pid, signum)
    assert server.finish() == status, server.stderr
    assert _last_line(server.stderr).startswith(said), server.stderr
    assert "Traceback" not in server.stderr


def test_a_second_sigint_during_the_shutdown_stops_at_once(served):
    server = served()
    os.kill(server.process.pid, signal.SIGINT)
    time.sleep(0.1)
    os.kill(server.process.pid, signal.SIGINT)
    assert server.finish(timeout=15) == 130, server.stderr
    assert "Traceback" not in server.stderr
    # at once, or, on a loaded machine whose shutdown ended within 0.1 s, the first signal's line
    assert _last_line(server.stderr).startswith(("stopped at once by a second signal", "interrupted: ")), \
        server.stderr


@pytest.mark.parametrize("to_group", [False, True], ids=["parent", "process-group"])
def test_sighup_stops_serve_and_its_workers(served, to_group):
    server = served(workers=2)
    children = server.children()
    assert len(children) >= 2, children  # two workers (and the resource tracker)
    (os.killpg if to_group else os.kill)(server.process.pid, signal.SIGHUP)  # a closing terminal: the group
    assert server.finish() == 129, server.stderr  # uvicorn restarted the workers and went on serving
    assert _last_line(server.stderr).startswith("terminated (SIGHUP): "), server.stderr
    assert "Traceback" not in server.stderr
    assert _wait_gone(children) == []


def test_workers_end_with_a_killed_parent(served):
    server = served(workers=2)
    children = server.children()
    assert len(children) >= 2, children
    os.kill(server.process.pid, signal.SIGKILL)
    assert server.finish() == -signal.SIGKILL
    assert _wait_gone(children) == [], f"left serving under init:\n{server.stderr}"
