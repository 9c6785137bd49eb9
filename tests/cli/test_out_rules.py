"""Every output path of every command obeys the same rules (runs/out_paths.py), before any work (issue 26, item 8).

A table over the commands: an output inside a run folder is refused (the run holds only what its trainer
writes), and so is one that cannot be written (a read-only disk): each in one line, before anything is computed,
and nothing is written. ``games --out`` on a read-only disk computed for a minute before it failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from clitools import fake_run, files
from tiny_run import TINY, TINY_TABLE1

from improved_gan.runs.out_paths import path_argument

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


# every argument that names a path, as "COMMAND [ACTION] --flag" (or the positional's name): the command with it
# empty. test_every_path_argument_refuses_an_empty_value keeps this table whole.
EMPTY_PATHS = {
    "ablate --out": ["ablate", "table3", "--dry-run", "--out", ""],
    "ablate --data-dir": ["ablate", "table3", "--dry-run", "--data-dir", ""],
    "ablate --weights": ["ablate", "table3", "--dry-run", "--weights", ""],  # "--weights  is a folder" (6th sweep)
    "classifier train --data-dir": ["classifier", "train", "--data-dir", ""],  # refused once torch was imported
    "classifier train --out": ["classifier", "train", "--out", ""],
    "demo --out": ["demo", "--out", ""],
    "eval run": ["eval", ""],
    "eval --data-dir": ["eval", "run", "--data-dir", ""],  # "--data-dir  does not apply to mnist5k"
    "games --out": ["games", "--out", ""],
    "report runs": ["report", ""],
    "report --out": ["report", "run", "--out", ""],
    "reproduce --out": ["reproduce", "table1", "--out", ""],
    "reproduce --data-dir": ["reproduce", "table1", "--data-dir", ""],
    "resume run": ["resume", ""],
    "runs folder": ["runs", ""],
    "sample run": ["sample", "", "--out", "s.png"],
    "sample --out": ["sample", "run", "--out", ""],
    "score --weights": ["score", "mnist:test", "--metrics", "is", "--weights", ""],
    "score --classifier": ["score", "mnist:test", "--classifier", ""],
    "score --data-dir": ["score", "mnist:test", "--data-dir", ""],
    "train --resume": ["train", "--resume", ""],  # `resume ""` (the alias)
    "train --out": ["train", "mnist-fm", "--out", ""],
    "train --data-dir": ["train", "mnist-fm", "--dataset", "mnist", "--data-dir", ""],
    "turing create study": ["turing", "create", "", "--real", "mnist5k", "--generated", "mnist5k:test"],
    "turing create --generated-scores": ["turing", "create", "s", "--real", "mnist5k", "--generated", "mnist5k:test",
                                         "--generated-top", "0.5", "--generated-scores", ""],
    "turing create --data-dir": ["turing", "create", "s", "--real", "mnist", "--generated", "mnist5k:test",
                                 "--data-dir", ""],
    "turing invite study": ["turing", "invite", "", "--n", "1"],
    "turing invite --labels": ["turing", "invite", "study", "--labels", ""],  # "error: .: Is a directory"
    "turing invite --out": ["turing", "invite", "study", "--n", "1", "--out", ""],
    "turing serve studies": ["turing", "serve", ""],
    "turing results study": ["turing", "results", ""],
    "turing results --json": ["turing", "results", "study", "--json", ""],
    "turing results --votes-csv": ["turing", "results", "study", "--votes-csv", ""],
    "turing results --images-csv": ["turing", "results", "study", "--images-csv", ""],
    "turing token study": ["turing", "token", ""],
}

EMPTY = "empty: name a path (an empty one would be the working folder)"

# every other argument that takes text: what it is instead of a path
NOT_PATHS = {
    **dict.fromkeys(["ablate --device", "eval --device", "resume --device", "sample --device", "score --device",
                     "train --device"], "a device name"),
    "ablate --only": "a row of the table",
    **dict.fromkeys(["reproduce --preset", "train preset"], "a preset's name"),
    **dict.fromkeys(["reproduce --dataset", "train --dataset"], "a dataset's name"),
    **dict.fromkeys(["reproduce --set", "train --set"], "KEY=VALUE"),
    **dict.fromkeys(["score source", "score --reference", "turing create --real", "turing create --generated"],
                    "an image source, a path or a dataset's name (source_names.describe_source refuses it empty)"),
    "score --metrics": "metrics' names",
    **dict.fromkeys(["turing create --title", "turing create --slug", "turing remove slug"], "a study's name"),
    **dict.fromkeys([f"turing {action} --database" for action in ("create", "invite", "serve", "results", "token",
                                                                 "remove")], "a database URL"),
    "turing invite --base-url": "a web address",
    **dict.fromkeys(["turing serve --host", "turing serve --forwarded-allow-ips"], "network addresses"),
}


def text_arguments() -> dict[str, argparse.Action]:
    """Every argument of every command that takes a text or a path (not a number, a choice or a switch), as
    "COMMAND [ACTION] --flag" (a positional: its name)."""
    from improved_gan.cli.main import build_parser

    found: dict[str, argparse.Action] = {}

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif action.nargs != 0 and not action.choices and action.type in (None, str, Path, path_argument):
                found[" ".join([*words, action.option_strings[0] if action.option_strings else action.dest])] = action

    walk(build_parser(), [])
    return found


def test_every_path_argument_refuses_an_empty_value():
    """A path an argument names empty would be the working folder (the fourth, fifth and sixth sweeps each found
    such arguments): each takes ``path_argument`` as its type and has its case in EMPTY_PATHS; every other
    argument that takes text says in NOT_PATHS what it is instead."""
    arguments = text_arguments()
    paths = {name for name, action in arguments.items() if action.type is path_argument}
    assert sorted(set(arguments) - paths - set(NOT_PATHS)) == [], "a path? type=path_argument; else NOT_PATHS"
    assert sorted(paths & set(NOT_PATHS)) == [] and sorted(set(NOT_PATHS) - set(arguments)) == []
    assert sorted(paths ^ set(EMPTY_PATHS)) == [], "EMPTY_PATHS: a case for every path argument, and no other"


@pytest.mark.parametrize("name", EMPTY_PATHS)
def test_an_empty_path_is_refused(name, run, study):
    """``--out ""`` was read as the working folder by ``invite``, ``results`` and ``classifier train`` (the fourth
    sweep); ``cd RUN && improved-gan resume ""`` trained the working folder's run and ``cd STUDY && turing token
    ""`` replaced its owner token (the fifth: ``resume "$RUN"`` with RUN unset); ``turing invite --labels ""``
    said "error: .: Is a directory", ``ablate --weights ""`` "--weights  is a folder", ``classifier train
    --data-dir ""`` imported torch first (the sixth). The working folder here holds a run's files and a study's
    at once, as a user's could be either: argparse's usage and its one line, status 2, nothing in it touched."""
    from clitools import cli

    here = Path(tempfile.mkdtemp(dir=run.parent))  # the study's files and the run's, side by side
    shutil.copytree(study, here, dirs_exist_ok=True)
    shutil.copytree(run, here, dirs_exist_ok=True)
    before = files(here)
    result = cli(*EMPTY_PATHS[name], check=False, cwd=here)
    words, _, argument = ("resume run" if name == "train --resume" else name).rpartition(" ")  # the alias's
    argument = text_arguments()[f"{words} {argument}"]
    said = f"improved-gan {words}: error: argument {argparse._get_action_name(argument)}: {EMPTY}"
    assert (result.returncode, result.stdout, result.stderr.splitlines()[-1]) == (2, "", said), result.stderr
    assert files(here) == before
