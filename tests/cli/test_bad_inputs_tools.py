"""A third round of a new user's bad inputs (issue 17), on the evaluation and tool commands: ``score``,
``classifier``, ``games``, ``turing`` and the datasets behind ``--data-dir``. Each case here was a traceback,
a file of the user's replaced, a flag silently ignored, or a misleading message before; each is now one line
(``error: ...``, exit status 2) and leaves the user's files as they were.

In-process (``main([...])``) on small .npz files, hand-made studies and folders; nothing trains.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
from clitools import files, one_line_error

from improved_gan.cli.main import main


# -- turing ---------------------------------------------------------------------------------------

@pytest.fixture
def pools(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("real", "gen"):
        np.savez(tmp_path / f"{name}.npz", x=rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8))
    return tmp_path


def _create(pools, folder, *extra: str) -> list[str]:
    return ["turing", "create", str(folder), "--real", str(pools / "real.npz"), "--generated",
            str(pools / "gen.npz"), "--per-session", "10", "--attention-checks", "1", "--tutorial", "2",
            "--no-progress", "--allow-recurring-images", *extra]  # small pools: these tests are about other inputs


@pytest.fixture
def study(pools, capsys):
    folder = pools / "study"
    assert main(_create(pools, folder)) == 0
    capsys.readouterr()
    return folder


@pytest.mark.parametrize(
    "extra, says",
    [(["--slug", ""], "study name '' is not usable"),  # fell back to the folder's name
     (["--seed", "3"], "neither --real nor --generated is a run folder"),  # ignored: no generator to seed
     (["--data-dir", "/somewhere"], "neither --real nor --generated names a dataset")],  # ignored
)
def test_create_refuses_flags_it_would_ignore(extra, says, pools, capsys):
    one_line_error(capsys, _create(pools, pools / "s", *extra), says, )
    assert not (pools / "s").exists()


def test_create_refuses_a_run_as_the_real_images(pools, capsys):
    """A run's generator samples were accepted as the real pool (its images are generated)."""
    from clitools import fake_run

    run = fake_run(pools / "run", checkpoint=True)
    one_line_error(capsys, ["turing", "create", str(pools / "s"), "--real", str(run), "--generated",
                            str(pools / "gen.npz")], "--real", "is a run folder: its images are generated")
    assert not (pools / "s").exists()


def test_create_into_a_file_says_it_is_a_file(pools, capsys):
    """It said "already exists and is not empty"."""
    (pools / "notes.txt").write_text("mine")
    one_line_error(capsys, _create(pools, pools / "notes.txt"), "is a file, not a folder")
    assert (pools / "notes.txt").read_text() == "mine"


def test_create_under_a_file_names_the_file(pools, capsys):
    """It said "cannot write the study folder ...: Not a directory; check the disk's free space and permissions"."""
    (pools / "notes.txt").write_text("mine")
    one_line_error(capsys, _create(pools, pools / "notes.txt" / "study"), "notes.txt is a file, not a folder")


@pytest.mark.parametrize("command", ["create", "remove"])
def test_an_empty_database_url_is_refused(command, pools, capsys):
    """`--database ""` silently meant the study's own SQLite file."""
    argv = (_create(pools, pools / "s") if command == "create" else ["turing", "remove", "demo", "--yes"])
    one_line_error(capsys, [*argv, "--database", ""], "--database is empty")
    assert not (pools / "s").exists()


def test_a_locked_database_says_so(study, capsys, monkeypatch):
    """After SQLite's wait it said "check the --database URL, that its server is running, and that the file is
    a study store", none of which was wrong."""
    from sqlalchemy.exc import OperationalError

    from improved_gan.turing.served import ServedStudy

    def locked(*args, **kwargs):
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(ServedStudy, "open", locked)
    err = one_line_error(capsys, ["turing", "token", str(study)], "the database is locked", "try again")
    assert "--database URL" not in err


def _edit_manifest(study, change) -> None:
    manifest = json.loads((study / "study.json").read_text())
    (study / "study.json").write_text(json.dumps(change(manifest)))


@pytest.mark.parametrize(
    "change, says",
    [(lambda m: [m], "a JSON list, not an object"),  # AttributeError: 'list' object has no attribute 'get'
     (lambda m: {**m, "options": {**m["options"], "per_session": "ten"}},
      "per_session must be a whole number (got 'ten')"),  # TypeError: '<=' not supported
     (lambda m: {**m, "options": {k: v for k, v in m["options"].items() if k != "slug"}},
      "study options lack slug"),  # KeyError: 'slug'
     (lambda m: {**m, "options": None}, "study options must be a JSON object")],  # TypeError
)
@pytest.mark.parametrize("command", ["results", "token", "invite", "serve"])
def test_a_hand_edited_study_json_is_one_line(change, says, command, study, capsys):
    _edit_manifest(study, change)
    argv = {"results": ["turing", "results", str(study)], "token": ["turing", "token", str(study)],
            "invite": ["turing", "invite", str(study), "--n", "1"],
            "serve": ["turing", "serve", str(study), "--port", "1"]}[command]
    one_line_error(capsys, argv, "study.json", says)


def test_a_folder_in_place_of_the_store_is_named(study, capsys):
    """It said "has no turing.sqlite3: it was created with an external database"."""
    for name in ("turing.sqlite3", "turing.sqlite3-wal", "turing.sqlite3-shm"):
        (study / name).unlink(missing_ok=True)
    (study / "turing.sqlite3").mkdir()
    one_line_error(capsys, ["turing", "results", str(study)], "turing.sqlite3 is a folder, not the study's SQLite")


def test_results_of_a_file_says_it_is_not_a_study_folder(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    one_line_error(capsys, ["turing", "results", str(tmp_path / "notes.txt")], "is a file, not a study folder")


def test_two_exports_into_one_file_are_refused(study, tmp_path, capsys):
    """`results --json r --votes-csv r` wrote the JSON, then the CSV over it."""
    one_line_error(capsys, ["turing", "results", str(study), "--json", str(tmp_path / "r"), "--votes-csv",
                            str(tmp_path / "." / "r")], "--json and --votes-csv both name")
    assert not (tmp_path / "r").exists()


def _invitations(study) -> int:
    from improved_gan.turing.served import ServedStudy

    served = ServedStudy.open(study)
    try:
        return served.store.invitation_counts(served.study.id)[0]
    finally:
        served.store.close()


@pytest.mark.parametrize("url", ["not a url", "javascript:alert(1)", "", "study.example.org", "http://h:99999"])
def test_invite_refuses_a_base_url_no_annotator_can_open(url, study, capsys):
    """Codes were made and printed behind links like 'not a url/s/study/?code=...'."""
    one_line_error(capsys, ["turing", "invite", str(study), "--n", "2", "--base-url", url], "--base-url")
    assert _invitations(study) == 0


def test_invite_out_a_dangling_symbolic_link_is_refused(study, tmp_path, capsys):
    """The link was replaced by the codes file (`--out` only checked that the path did not exist)."""
    (tmp_path / "codes.csv").symlink_to(tmp_path / "elsewhere" / "codes.csv")
    one_line_error(capsys, ["turing", "invite", str(study), "--n", "2", "--out", str(tmp_path / "codes.csv")],
                   "a symbolic link to")
    assert (tmp_path / "codes.csv").is_symlink() and _invitations(study) == 0


def test_invite_labels_with_a_byte_order_mark(study, tmp_path, capsys):
    """A labels file saved by Notepad or Excel (UTF-8 with BOM) was refused: "label 1 ('\\ufeffa')"."""
    (tmp_path / "ids.txt").write_bytes("\ufeffp-1\np-2\n".encode())
    assert main(["turing", "invite", str(study), "--labels", str(tmp_path / "ids.txt")]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("p-1,")


def test_remove_with_a_database_file_that_does_not_exist_makes_none(tmp_path, capsys):
    """It made an empty SQLite file there, then said "no such table: turing_studies"."""
    one_line_error(capsys, ["turing", "remove", "demo", "--database", f"sqlite:///{tmp_path / 'typo.sqlite3'}",
                            "--yes"], "there is no SQLite database at", "nothing was created")
    assert not (tmp_path / "typo.sqlite3").exists()


@pytest.fixture
def busy_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_serve_on_a_port_in_use_is_one_line_before_any_link(study, busy_port, capsys):
    """uvicorn logged five lines ending "[Errno 98] address already in use" and exit status 3, after the
    links were printed as if the study were served."""
    err = one_line_error(capsys, ["turing", "serve", str(study), "--port", str(busy_port)], "Address already in use",
                         "choose another --port")
    assert capsys.readouterr().out == "" and "annotators" not in err


@pytest.mark.parametrize(
    "argv, says",
    [(["--host", ""], "--host is empty"),  # listened on every interface
     (["--host", "no-such-host.invalid"], "is not an address this machine can listen on"),  # uvicorn's exit 3
     (["--forwarded-allow-ips", ""], "--forwarded-allow-ips is empty")],  # silently the default
)
def test_serve_address_checks(argv, says, study, capsys, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    one_line_error(capsys, ["turing", "serve", str(study), "--port", "1", *argv], says)


def test_serve_workers_are_bounded(study, capsys, monkeypatch):
    """`--workers 100000` started that many server processes, each opening every study."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    one_line_error(capsys, ["turing", "serve", str(study), "--workers", "100000"], "--workers must be between 1 and 64")


def test_serve_links_come_after_the_checks_and_bracket_ipv6(study, capsys, monkeypatch):
    import uvicorn

    from improved_gan.turing import server

    monkeypatch.setattr(server, "check_address", lambda host, port: None)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    assert main(["turing", "serve", str(study), "--host", "::1", "--port", "8123"]) == 0
    assert "annotators http://[::1]:8123/s/study/" in capsys.readouterr().out


# -- score ----------------------------------------------------------------------------------------

# -- games ----------------------------------------------------------------------------------------

# -- classifier -----------------------------------------------------------------------------------

# -- datasets -------------------------------------------------------------------------------------

