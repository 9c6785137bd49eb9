"""`turing create` stopped, killed, or out of disk; `turing invite --out` refused (the issue of d48fab4).

A SIGTERM took 18.6 s (5k staged images) and 72 s (20k) to end the command, silently: the staging folder was
removed with ``shutil.rmtree`` before the exit. A SIGKILL left the staging folder for a day. A full disk was
"the database failed ... check the --database URL" with no --database given. A dangling link as --out asked
for "a new new .csv file".
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.exc import OperationalError

from clitools import one_line_error
from improved_gan.cli.main import main
from improved_gan.turing import staging
from improved_gan.turing.store import Store

from turing.study_data import study_pools

BIG = ["--real", "mnist5k", "--generated", "mnist5k:test", "--per-session", "10", "--sessions", "1",
       "--no-progress"]  # 5,000 images: seconds to minutes of writing, stopped long before the end


@pytest.fixture
def sources(tmp_path):
    real, generated = study_pools(20)
    np.savez(tmp_path / "real.npz", x=real.images)
    np.savez(tmp_path / "generated.npz", x=generated.images)
    return ["--real", str(tmp_path / "real.npz"), "--generated", str(tmp_path / "generated.npz"),
            "--per-session", "4", "--feedback", "off", "--no-progress"]


def _start_create(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "improved_gan", "turing", "create", str(folder), *BIG],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _staged(folder: Path, process: subprocess.Popen, at_least: int, timeout: float = 180) -> Path:
    """The staging folder of ``folder`` once it holds ``at_least`` images (the process still writing)."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        for path in folder.parent.glob(f".{folder.name}{staging.MARK}*"):
            if staging.count_images(path) >= at_least:
                return path
        time.sleep(0.01)


def _gone(path: Path, timeout: float = 180) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not path.exists()


def test_sigterm_says_at_once_what_becomes_of_the_staged_images(tmp_path):
    process = _start_create(tmp_path / "study")
    path = _staged(tmp_path / "study", process, 300)
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    line = process.stderr.readline()
    said_after = time.monotonic() - sent
    assert process.wait(timeout=60) == 143
    match = re.fullmatch(rf"terminated \(SIGTERM\): no study was created; the (\d+) images staged in "
                         rf"{re.escape(str(path))} are being removed in the background \(if that is cut short, "
                         rf"the next `turing create` of {re.escape(str(tmp_path / 'study'))} removes the rest\)\n",
                         line)
    assert match, line
    assert int(match[1]) >= 300 and process.stderr.read() == ""
    assert said_after < 5, said_after  # not after the removal (3 ms a file on this disk)
    assert staging.remove_abandoned(tmp_path / "study") == []  # the remover holds the lock (or is done)
    assert _gone(path)
    assert sorted(os.listdir(tmp_path)) == []


def test_a_killed_create_is_cleared_at_the_next_start_never_a_live_one(tmp_path, sources, capsys):
    folder = tmp_path / "study"
    process = _start_create(folder)
    try:
        path = _staged(folder, process, 20)
        process.send_signal(signal.SIGSTOP)  # alive, holding its locks, writing nothing
        kept = staging.count_images(path)
        assert staging.remove_abandoned(folder) == []  # a live create's folder is left alone (a second create
        assert staging.count_images(path) == kept  # of the study is refused: test_turing_one_create.py)
    finally:
        process.kill()
        process.communicate()
    assert main(["turing", "create", str(folder), *sources]) == 0  # its create lock is nobody's now
    assert _gone(path)  # killed a moment ago, not a day: provably abandoned
    assert sorted(os.listdir(tmp_path)) == ["generated.npz", "real.npz", "study"]  # the lock file too


def test_only_a_provably_abandoned_or_day_old_unlocked_staging_folder_goes(tmp_path):
    study = tmp_path / "study"
    live = staging.staging_name(study, "0123456789ab")
    lock = staging.make_staging(live)  # as a running create holds it (flock conflicts within a process too)
    (live / "images").mkdir()
    old = staging.staging_name(study, "ba9876543210")
    old.mkdir()  # an earlier version's: no lock file
    fresh = staging.staging_name(study, "00000000000f")
    fresh.mkdir()  # no lock file, and younger than a day: it may be at work
    other = tmp_path / ".study.creating-notours"
    other.mkdir()
    for path in (live, old, other):
        os.utime(path, (0, 0))
    assert staging.remove_abandoned(study) == [old]  # a held lock outlives the day rule
    assert _gone(old) and live.exists() and fresh.exists() and other.exists()
    os.close(lock)  # as the kernel does when the process dies, however it dies
    assert staging.remove_abandoned(study) == [live]
    assert _gone(live) and fresh.exists() and other.exists()


def _sqlite_full() -> sqlite3.OperationalError:
    """A real "database or disk is full" from SQLite (a one-page database)."""
    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA max_page_count = 2")
    connection.execute("CREATE TABLE t (x)")
    try:
        connection.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as err:
        return err
    raise AssertionError("SQLite did not run out of pages")


def test_a_full_disk_is_named_and_database_only_when_given(tmp_path, sources, capsys, monkeypatch):
    def full(self, *args, **kwargs):
        raise OperationalError("INSERT INTO turing_images", {}, _sqlite_full())

    monkeypatch.setattr(Store, "add_study", full)
    line = one_line_error(capsys, ["turing", "create", str(tmp_path / "s"), *sources],
                          f"the disk holding {tmp_path} is full (database or disk is full); free some space "
                          "there, or create the study on another disk (nothing was created); the ",
                          " images staged in ", " are being removed in the background")
    assert "--database" not in line
    database = tmp_path / "store.sqlite3"
    one_line_error(capsys, ["turing", "create", str(tmp_path / "s"), *sources, "--database", f"sqlite:///{database}"],
                   f"the disk holding the --database file {database} is full (database or disk is full)")
    monkeypatch.undo()

    from improved_gan.turing import create as create_module

    written = []

    def png(path, image, *, mtime):
        written.append(path)
        if len(written) > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_png(path, image, mtime=mtime)

    real_png = create_module.write_png
    monkeypatch.setattr(create_module, "write_png", png)
    one_line_error(capsys, ["turing", "create", str(tmp_path / "t"), *sources],
                   f"the disk holding {tmp_path} is full (No space left on device)", "the 5 images staged in")
    for path in tmp_path.glob(".*"):
        assert _gone(path)


def test_a_database_failure_names_database_only_when_given(tmp_path, sources, capsys):
    assert main(["turing", "create", str(tmp_path / "s"), *sources]) == 0
    capsys.readouterr()
    for path in (tmp_path / "s").glob("turing.sqlite3*"):
        path.unlink()
    (tmp_path / "s" / "turing.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x07" * 8000)  # damaged
    line = one_line_error(capsys, ["turing", "results", str(tmp_path / "s")],
                          "the study's database (turing.sqlite3 in its folder) failed: file is not a database")
    assert "--database" not in line


def test_the_new_study_s_database_is_whole_in_its_file(tmp_path, sources):
    """The store was closed after the rename, so SQLite could not fold its log back in: the study's rows stayed
    in turing.sqlite3-wal beside a 4 KiB turing.sqlite3, and a copy of the database file alone held none."""
    assert main(["turing", "create", str(tmp_path / "s"), *sources]) == 0
    assert sorted(os.listdir(tmp_path / "s")) == ["images", "study.json", "turing.sqlite3"]


def test_invitations_to_a_dangling_link_ask_for_a_new_file_once(make_study, tmp_path, capsys):
    created = make_study(invitations=0)
    (tmp_path / "link.csv").symlink_to(tmp_path / "gone.csv")
    line = one_line_error(capsys, ["turing", "invite", str(created.folder), "--n", "1", "--out",
                                   str(tmp_path / "link.csv")], "name a new .csv file (nothing was written)")
    assert "new new" not in line
    assert not (tmp_path / "gone.csv").exists()
