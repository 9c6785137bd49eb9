"""One `turing create` of a study at a time (issue 26, the second sweep, commit 042b9e9).

Two creates of the same study folder at once were not kept apart: the second finished, and the first then
failed at its rename with "cannot write the study folder ...: Directory not empty; check that ... is
writable". Now the process that makes a study holds an OS lock (``flock``) beside it, and a second create is
refused in one line, naming that process, before it loads an image; the first finishes as if alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np

from clitools import cli
from improved_gan.cli.main import main
from improved_gan.turing import config

from turing.study_data import study_pools
from turing.test_turing_stopping import _staged


def _sources(tmp_path, n: int) -> list[str]:
    real, generated = study_pools(n)
    np.savez(tmp_path / "real.npz", x=real.images)
    np.savez(tmp_path / "generated.npz", x=generated.images)
    return ["--real", str(tmp_path / "real.npz"), "--generated", str(tmp_path / "generated.npz"),
            "--per-session", "4", "--feedback", "off", "--no-progress"]


def test_a_second_create_of_the_same_study_is_refused_and_the_first_finishes(tmp_path):
    sources = _sources(tmp_path, 800)  # seconds of writing: the first is caught while it writes
    folder = (tmp_path / "study").resolve()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "improved_gan", "turing", "create", str(folder), *sources],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        path = _staged(folder, first, 20)
        first.send_signal(signal.SIGSTOP)  # alive and holding its lock for as long as the second takes
        second = cli("turing", "create", str(folder), *sources, check=False)
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=300)
    assert (second.returncode, second.stdout) == (2, "")
    assert second.stderr == (f"error: another `turing create` is making study {folder} now (process {first.pid}); "
                             "wait for it\n")
    assert first.returncode == 0, err
    assert f"created study 'study' in {folder}: 800 real and 800 generated images" in out
    assert not path.exists()  # renamed into place: the study
    assert len(os.listdir(folder / "images")) == 1600
    assert sorted(os.listdir(tmp_path)) == ["generated.npz", "real.npz", "study"]  # no lock file left


def test_a_create_that_passed_the_first_check_is_refused_by_the_lock(tmp_path, capsys, monkeypatch):
    """Two creates started in the same instant both pass the check made before the images are loaded; the
    lock taken before anything is written keeps them apart. A lock whose process was killed is nobody's."""
    folder = (tmp_path / "study").resolve()
    sources = _sources(tmp_path, 20)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(config, "creator", lambda folder: None)  # the first check, passed in the instant before
        assert main(["turing", "create", str(folder), *sources]) == 2
    finally:
        holder.kill()
        holder.communicate()
    assert capsys.readouterr().err == (f"error: another `turing create` is making study {folder} now "
                                       f"(process {holder.pid}); wait for it\n")
    assert sorted(os.listdir(tmp_path)) == [".study.create-lock", "generated.npz", "real.npz"]  # nothing staged
    assert main(["turing", "create", str(folder), *sources]) == 0  # the killed holder's lock is nobody's
    assert sorted(os.listdir(tmp_path)) == ["generated.npz", "real.npz", "study"]


HOLD = """
import sys, time
from pathlib import Path
from improved_gan.turing.config import creating
with creating(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_study_folder_written_into_meanwhile_is_said_so_not_blamed_on_permissions(tmp_path, capsys, monkeypatch):
    """The study folder, empty when the create began, could not be replaced at the end: the line said to check
    that its parent is writable."""
    from improved_gan.turing import create

    folder = (tmp_path / "study").resolve()
    sources = _sources(tmp_path, 20)
    real_png = create.write_png

    def png(path, image, *, mtime):  # another program writes into the study folder while the images are made
        folder.mkdir(exist_ok=True)
        (folder / "notes.txt").write_text("mine")
        real_png(path, image, mtime=mtime)

    monkeypatch.setattr(create, "write_png", png)
    assert main(["turing", "create", str(folder), *sources]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: something wrote into {folder} while the study was being made, so it cannot "
                          "become the study (nothing was created); choose a new study folder"), err
    assert "writable" not in err and err.count("\n") == 1
    assert os.listdir(folder) == ["notes.txt"] and (folder / "notes.txt").read_text() == "mine"
