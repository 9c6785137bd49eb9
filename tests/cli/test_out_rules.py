"""Every output path of every command obeys the same rules (runs/out_paths.py), before any work (issue 26, item 8).

A table over the commands: an output inside a run folder is refused (the run holds only what its trainer
writes), and so is one that cannot be written (a read-only disk): each in one line, before anything is computed,
and nothing is written. ``games --out`` on a read-only disk computed for a minute before it failed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from clitools import fake_run, files
from tiny_run import TINY, TINY_TABLE1

GAMES = ["--steps", "5000", "--sweep", "--no-progress"]  # a minute of computing, were it not checked first

STUDY_IMAGES = ["--real", "mnist5k:test", "--generated", "mnist5k:train", "--n-real", "40", "--n-generated", "40",
                "--per-session", "10", "--sessions", "2", "--no-progress"]

# command -> argv, given the run folder, the output path (without suffix) to name and a study folder
COMMANDS = {
    "train": lambda run, out, study: ["train", "mnist-fm", *TINY, "--out", out],
    "demo": lambda run, out, study: ["demo", "--epochs", "1", "--no-progress", "--out", out],
    "reproduce table1": lambda run, out, study: ["reproduce", "table1", *TINY_TABLE1, "--seeds", "1", "--out", out],
    "ablate": lambda run, out, study: ["ablate", "table3", "--dry-run", "--out", out],
    "games": lambda run, out, study: ["games", *GAMES, "--out", out],
    "sample grid": lambda run, out, study: ["sample", str(run), "--n", "4", "--out", out + ".png"],
    "sample npz": lambda run, out, study: ["sample", str(run), "--n", "4", "--out", out + ".npz"],
    "sample png-folder": lambda run, out, study: ["sample", str(run), "--n", "4", "--format", "png-folder",
                                                  "--out", out],
    "report": lambda run, out, study: ["report", str(run), "--out", out + ".md"],
    "classifier train": lambda run, out, study: ["classifier", "train", "--data-dir", "/nonexistent",
                                                 "--out", out + ".pt"],
    "turing create": lambda run, out, study: ["turing", "create", out, *STUDY_IMAGES],
    "turing invite": lambda run, out, study: ["turing", "invite", str(study), "--n", "2", "--out", out + ".csv"],
    "turing results --json": lambda run, out, study: ["turing", "results", str(study), "--json", out + ".json"],
    "turing results --votes-csv": lambda run, out, study: ["turing", "results", str(study), "--votes-csv",
                                                           out + ".csv"],
    "turing results --images-csv": lambda run, out, study: ["turing", "results", str(study), "--images-csv",
                                                            out + ".csv"],
}


@pytest.fixture
def run(tmp_path) -> Path:
    return fake_run(tmp_path / "run", checkpoint=True)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A tiny study (40 real and 40 'generated' bundled digits), for the outputs of ``invite`` and ``results``."""
    from improved_gan.cli.main import main

    folder = tmp_path_factory.mktemp("turing") / "study"
    assert main(["turing", "create", str(folder), *STUDY_IMAGES]) == 0
    return folder


def _unwritable_root() -> Path | None:
    """A folder no entry can be made in: a read-only one for a user; /sys for root (who writes anywhere else)."""
    if os.geteuid() != 0:
        folder = Path(tempfile.mkdtemp(prefix="read-only-"))
        folder.chmod(0o555)
        return folder
    try:
        os.rmdir(tempfile.mkdtemp(dir="/sys"))
    except OSError:
        return Path("/sys")
    return None


@pytest.fixture(scope="module")
def unwritable():
    folder = _unwritable_root()
    if folder is None:
        pytest.skip("no folder here refuses a new entry to this user")
    yield folder
    if folder != Path("/sys"):
        folder.chmod(0o755)
        shutil.rmtree(folder)


def _refused(capsys, argv) -> str:
    from improved_gan.cli.main import main

    assert main(argv) == 2, capsys.readouterr()
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_inside_a_run_folder_is_refused(command, run, study, capsys):
    before, study_before = files(run), files(study)
    err = _refused(capsys, COMMANDS[command](run, str(run / "samples" / "out"), study))
    assert f"lies inside the run folder {run}" in err and "(nothing was written)" in err
    assert files(run) == before and files(study) == study_before  # no invitation made, for one


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_through_a_link_into_a_run_folder_is_refused(command, run, study, tmp_path, capsys):
    """``LINK/out`` with ``LINK`` a link to ``RUN/samples``: six commands wrote into the run (the demo two runs)."""
    (run / "samples").mkdir(exist_ok=True)
    link = tmp_path / "link"
    link.symlink_to(run / "samples", target_is_directory=True)
    before, study_before = files(run), files(study)
    err = _refused(capsys, COMMANDS[command](run, str(link / "out"), study))
    assert "lies inside the run folder" in err and "(nothing was written)" in err, err
    assert files(run) == before and files(study) == study_before


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(command, run, study, unwritable, capsys):
    study_before = files(study)
    err = _refused(capsys, COMMANDS[command](run, str(unwritable / "new" / "out"), study))
    assert "cannot be written" in err and "nothing was computed or written" in err, err
    assert not (unwritable / "new").exists() and files(study) == study_before


# the commands whose output is a file: a symbolic link there (dangling or not) would be replaced by the file
FILE_OUTPUTS = ["sample grid", "sample npz", "report", "classifier train", "turing invite", "turing results --json",
                "turing results --votes-csv", "turing results --images-csv"]
SUFFIXES = (".png", ".npz", ".md", ".pt", ".csv", ".json")


@pytest.mark.parametrize("command", FILE_OUTPUTS)
def test_an_output_that_is_a_symbolic_link_is_refused(command, run, study, tmp_path, capsys):
    """``report --out r.md`` replaced a user's dangling link ``r.md`` (and ``r.png``) by its files."""
    out = tmp_path / "links" / "out"
    out.parent.mkdir()
    for suffix in SUFFIXES:  # every name the command may write, each a link to where nothing is yet
        out.with_suffix(suffix).symlink_to(tmp_path / f"elsewhere{suffix}")
    err = _refused(capsys, COMMANDS[command](run, str(out), study))
    assert "is a symbolic link" in err and "(nothing was written)" in err, err
    assert all(out.with_suffix(suffix).is_symlink() for suffix in SUFFIXES)
    assert not list(tmp_path.glob("elsewhere*"))



# the commands whose output is a folder made at the path named: a dangling link there is refused at once, by
# check_folder_path (``turing create`` resolves its folder first, and makes the study where the link leads)
FOLDER_OUTPUTS = ["train", "demo", "reproduce table1", "ablate", "games", "sample png-folder"]


@pytest.mark.parametrize("command", FOLDER_OUTPUTS)
def test_an_output_folder_that_is_a_dangling_link_is_refused(command, run, study, tmp_path, capsys):
    """``demo --out l_dang`` (a link to nowhere) trained both runs for 26 s, then failed on [Errno 17]."""
    link = tmp_path / "l_dang"
    link.symlink_to(tmp_path / "nowhere")
    study_before = files(study)
    err = _refused(capsys, COMMANDS[command](run, str(link), study))
    assert "is a symbolic link" in err, err
    assert link.is_symlink() and not (tmp_path / "nowhere").exists() and files(study) == study_before


@pytest.mark.parametrize("command", COMMANDS)
def test_standard_output_is_refused(command, run, study, tmp_path, monkeypatch, capsys):
    """``train --out -`` made a run folder named ``-`` (the third sweep): ``-`` is refused by every output."""
    monkeypatch.chdir(tmp_path)
    argv = ["-" if arg.startswith("-.") else arg for arg in COMMANDS[command](run, "-", study)]
    assert "-" in argv
    study_before = files(study)
    err = _refused(capsys, argv)
    if command == "report":  # its own check of the name comes first, and says as much
        assert "--out names a markdown file ending in .md (got -)" in err, err
    else:
        assert "writes files, not standard output" in err and str(tmp_path / "-") in err, err
    assert not (tmp_path / "-").exists() and files(study) == study_before


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_output_is_refused(command, run, study, tmp_path, monkeypatch, capsys):
    """``--out ""`` was read as the working folder: "--out . is a folder", "`.` exists" (the fourth sweep), and
    ``turing create ""`` would have made the study there. Every output flag's type refuses it (argparse: usage and
    one error line, status 2)."""
    from improved_gan.cli.main import main

    monkeypatch.chdir(tmp_path)
    argv = ["" if arg in SUFFIXES else arg for arg in COMMANDS[command](run, "", study)]
    assert "" in argv
    before, study_before = files(tmp_path), files(study)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "empty: name a path" in err.splitlines()[-1], err
    assert files(tmp_path) == before and files(study) == study_before


@pytest.mark.parametrize("argv", [
    ["resume", ""], ["train", "--resume", ""], ["eval", ""], ["report", ""], ["sample", "", "--out", "s.png"],
    ["runs", ""], ["turing", "token", ""], ["turing", "invite", "", "--n", "1"], ["turing", "results", ""],
    ["turing", "serve", ""],
], ids=lambda argv: " ".join(a for a in argv if a and not a.startswith("-"))[:30])
def test_an_empty_run_or_study_is_refused(argv, run, study, monkeypatch, capsys):
    """``cd RUN && improved-gan resume ""`` trained the working folder's run, ``cd STUDY && turing token ""``
    replaced its owner token (the fifth sweep: ``resume "$RUN"`` with RUN unset). The working folder here holds a
    run's files and a study's at once, as a user's could be either: nothing in it is touched."""
    from improved_gan.cli.main import main

    here = Path(tempfile.mkdtemp(dir=run.parent))  # the study's files and the run's, side by side
    shutil.copytree(study, here, dirs_exist_ok=True)
    shutil.copytree(run, here, dirs_exist_ok=True)
    monkeypatch.chdir(here)
    before = files(here)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "empty: name a path" in err.splitlines()[-1], err
    assert files(here) == before
