"""What `improved-gan turing` (create, remove, results, invite, serve) refuses: one line (``error: ...``, exit
status 2) before any study is made, any code is handed out or any server starts, and the user's files, runs
and studies as they were.

Each row of the tables was, before, a traceback, a flag silently ignored, a study made inside a run, codes
printed behind links no annotator can open, a user's file replaced by an export, or a message about something
else. In-process (``main([...])``) on small .npz pools and studies; nothing trains and no server starts.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
from clitools import fake_run, one_line_error, refusal, refuses

from improved_gan.cli.main import main


def _create(out: str, *extra: str) -> list[str]:
    """`turing create OUT` from the pools real.npz and gen.npz of ``{tmp}``."""
    return ["turing", "create", out, "--real", "{tmp}/real.npz", "--generated", "{tmp}/gen.npz", "--per-session",
            "10", "--attention-checks", "1", "--tutorial", "2", "--no-progress", "--allow-recurring-images",
            *extra]  # small pools: these tests are about other inputs


def _filled(folder, argv: list[str]) -> list[str]:
    return [a.replace("{tmp}", str(folder)) for a in argv]


@pytest.fixture
def pools(tmp_path):
    """Two pools of 40 images (real.npz, gen.npz), 40 blank ones (blank.npz), a run and the user's notes.txt."""
    rng = np.random.default_rng(0)
    for name in ("real", "gen"):
        np.savez(tmp_path / f"{name}.npz", x=rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8))
    np.savez(tmp_path / "blank.npz", x=np.zeros((40, 8, 8, 1), dtype=np.uint8))
    fake_run(tmp_path / "run", checkpoint=True)
    (tmp_path / "notes.txt").write_text("mine")
    return tmp_path


@pytest.mark.parametrize("case", [
    # flags create would ignore
    refusal("empty-slug", _create("{tmp}/s", "--slug", ""),
            "study name '' is not usable"),  # fell back to the folder's name
    refusal("seed-without-a-run", _create("{tmp}/s", "--seed", "3"),
            "neither --real nor --generated is a run folder"),  # no generator to seed
    refusal("data-dir-without-a-dataset", _create("{tmp}/s", "--data-dir", "/somewhere"),
            "neither --real nor --generated names a dataset"),
    refusal("empty-database-url", [*_create("{tmp}/s"), "--database", ""],
            "--database is empty"),  # silently meant the study's own SQLite file
    # what create reads and where it writes
    refusal("a-run-as-the-real-images", ["turing", "create", "{tmp}/s", "--real", "{tmp}/run", "--generated",
                                         "{tmp}/gen.npz"], "--real", "is a run folder: its images are generated"),
    refusal("into-a-file", _create("{tmp}/notes.txt"), "is a file, not a folder"),  # "already exists, not empty"
    refusal("under-a-file", _create("{tmp}/notes.txt/study"), "notes.txt is a file, not a folder"),
    refusal("inside-a-run", ["turing", "create", "{tmp}/run/study", "--real", "{tmp}/blank.npz", "--generated",
                             "{tmp}/blank.npz", "--per-session", "10", "--attention-checks", "1", "--tutorial", "2",
                             "--no-progress"], "lies inside the run folder", "outside it"),  # a study in a run
    # remove and results, without a study
    refusal("remove-empty-database-url", ["turing", "remove", "demo", "--yes", "--database", ""],
            "--database is empty"),
    refusal("remove-from-a-database-that-does-not-exist", ["turing", "remove", "demo", "--database",
                                                           "sqlite:///{tmp}/typo.sqlite3", "--yes"],
            "there is no SQLite database at", "nothing was created"),  # made an empty one, then "no such table"
    refusal("results-of-a-file", ["turing", "results", "{tmp}/notes.txt"], "is a file, not a study folder"),
])  # fmt: skip
def test_turing_refuses(case, pools, capsys, monkeypatch):
    refuses(capsys, monkeypatch, pools, case)


# -- with a study ---------------------------------------------------------------------------------

@pytest.fixture
def study(pools, capsys):
    folder = pools / "study"
    assert main(_filled(pools, _create("{tmp}/study"))) == 0
    capsys.readouterr()
    return folder


def _invitations(study) -> int:
    from improved_gan.turing.served import ServedStudy

    served = ServedStudy.open(study)
    try:
        return served.store.invitation_counts(served.study.id)[0]
    finally:
        served.store.close()


@pytest.fixture
def study_folder(study, monkeypatch):
    """The study (study/) beside the user's notes.md, labels.bin (not text), empty.txt (no labels) and codes.csv
    (a link to a file that does not exist); a server that starts fails the test."""
    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess

    for starts in (uvicorn.Server, Multiprocess):  # one process (turing/server.py's _Server), or the workers' supervisor
        monkeypatch.setattr(starts, "run", lambda *a, **k: pytest.fail("the server started"))
    folder = study.parent
    (folder / "notes.md").write_text("my notes")
    (folder / "labels.bin").write_bytes(b"\xff\xfe\x00abc")
    (folder / "empty.txt").write_text("\n\n")
    (folder / "codes.csv").symlink_to(folder / "elsewhere" / "codes.csv")
    return folder


S = "{tmp}/study"


@pytest.mark.parametrize("case", [
    # results: its exports (`--json r --votes-csv r` wrote the JSON, then the CSV over it)
    *[refusal(f"two-exports-into-one-file{how}", ["turing", "results", S, "--json", "{tmp}/r", "--votes-csv", r],
              "--json and --votes-csv both name") for how, r in (("", "{tmp}/r"), ("-spelled-otherwise", "{tmp}/./r"))],
    *[refusal(f"{flag[2:]}-over-a-users-file", ["turing", "results", S, flag, "{tmp}/notes.md"],
              "not written by improved-gan") for flag in ("--json", "--votes-csv", "--images-csv")],
    # invite: no code is made (they were, behind links like 'not a url/s/study/?code=...', or then lost)
    *[refusal(f"base-url-{what}", ["turing", "invite", S, "--n", "2", "--base-url", url], "--base-url")
      for what, url in (("not-a-url", "not a url"), ("javascript", "javascript:alert(1)"), ("empty", ""),
                        ("without-a-scheme", "study.example.org"), ("port-out-of-range", "http://h:99999"))],
    refusal("invite-out-a-dangling-link", ["turing", "invite", S, "--n", "2", "--out", "{tmp}/codes.csv"],
            "is a symbolic link (to "),  # the link was replaced by the codes file
    refusal("too-many-codes", ["turing", "invite", S, "--n", "100001"],
            "--n must be between 1 and 100,000"),  # --n 100000000 grew to 24 GB and was OOM-killed
    refusal("labels-not-text", ["turing", "invite", S, "--labels", "{tmp}/labels.bin"],
            "is not a UTF-8 text file"),  # a UnicodeDecodeError traceback
    refusal("labels-empty", ["turing", "invite", S, "--labels", "{tmp}/empty.txt"],
            "holds no labels"),  # "the database failed: NOT NULL constraint"
    refusal("labels-a-folder", ["turing", "invite", S, "--labels", "{tmp}"],
            "--labels {tmp}: Is a directory; give a text file, one label per line"),  # "{tmp}: Is a directory"
    refusal("invite-out-under-a-file", ["turing", "invite", S, "--n", "2", "--out", "{tmp}/notes.txt/codes.csv"],
            "notes.txt is a file"),  # codes made, then lost
    # serve: no server starts
    refusal("empty-host", ["turing", "serve", S, "--port", "1", "--host", ""],
            "--host is empty"),  # listened on every interface
    refusal("host-not-on-this-machine", ["turing", "serve", S, "--port", "1", "--host", "no-such-host.invalid"],
            "is not an address this machine can listen on"),  # uvicorn's exit status 3
    refusal("empty-forwarded-allow-ips", ["turing", "serve", S, "--port", "1", "--forwarded-allow-ips", ""],
            "--forwarded-allow-ips is empty"),  # silently the default
    refusal("too-many-workers", ["turing", "serve", S, "--workers", "100000"],
            "--workers must be between 1 and 64"),  # started that many server processes, each opening every study
])  # fmt: skip
def test_turing_refuses_with_a_study(case, study_folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, study_folder, case)
    assert _invitations(study_folder / "study") == 0


@pytest.mark.parametrize("flag", ["--json", "--votes-csv", "--images-csv"])
def test_results_replaces_its_own_export(flag, study, tmp_path):
    """An earlier export of the same kind is replaced (results is run again as votes come in)."""
    out = tmp_path / "export"
    assert main(["turing", "results", str(study), flag, str(out)]) == 0
    assert main(["turing", "results", str(study), flag, str(out)]) == 0


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
    ids=["a-list", "per-session-not-a-number", "slug-missing", "options-not-an-object"],
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


@pytest.mark.parametrize("argv", [["results"], ["token"], ["invite", "--n", "1"], ["serve", "--port", "1"]],
                         ids=["results", "token", "invite", "serve"])
def test_a_store_that_is_a_link_to_nothing_is_named(argv, study, tmp_path):
    """A study's turing.sqlite3 that is a symbolic link to nothing (its disk not mounted, the file moved) was
    "has no turing.sqlite3: it was created with an external database; pass the same --database URL"."""
    from clitools import cli, tree

    for name in ("turing.sqlite3", "turing.sqlite3-wal", "turing.sqlite3-shm"):
        (study / name).unlink(missing_ok=True)
    (study / "turing.sqlite3").symlink_to(tmp_path / "moved" / "turing.sqlite3")
    before = tree(study)
    result = cli("turing", argv[0], str(study), *argv[1:], check=False)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == (f"error: {study / 'turing.sqlite3'} is a symbolic link to {tmp_path / 'moved'}"
                             "/turing.sqlite3, which does not exist; put the study's store back there (or mount the "
                             "disk that holds it), or replace the link with the store itself\n")
    assert tree(study) == before and not (tmp_path / "moved").exists()


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


def test_invite_labels_with_a_byte_order_mark(study, tmp_path, capsys):
    """A labels file saved by Notepad or Excel (UTF-8 with BOM) was refused: "label 1 ('\\ufeffa')"."""
    (tmp_path / "ids.txt").write_bytes("\ufeffp-1\np-2\n".encode())
    assert main(["turing", "invite", str(study), "--labels", str(tmp_path / "ids.txt")]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("p-1,")


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


def test_serve_links_come_after_the_checks_and_bracket_ipv6(study, capsys, monkeypatch):
    import uvicorn

    from improved_gan.turing import server

    monkeypatch.setattr(server, "check_address", lambda host, port: None)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **k: setattr(self, "started", True))  # not served
    assert main(["turing", "serve", str(study), "--host", "::1", "--port", "8123"]) == 0
    assert "annotators http://[::1]:8123/s/study/" in capsys.readouterr().out


# -- an empty --database, through the command line -------------------------------------------------

EMPTY_DATABASE = {  # every command with --database: each said "or leave it out for the study's SQLite file"
    "create": ["create", "{tmp}/s", "--real", "{tmp}/real.npz", "--generated", "{tmp}/gen.npz"],
    "invite": ["invite", "{tmp}/s", "--n", "1"],
    "serve": ["serve", "{tmp}/s"],
    "results": ["results", "{tmp}/s"],
    "token": ["token", "{tmp}/s"],
    "remove": ["remove", "demo", "--yes"],  # has no store without one: "leave it out" was refused by argparse
}


@pytest.mark.parametrize("variable", ["unset", "set"])
@pytest.mark.parametrize("command", EMPTY_DATABASE)
def test_an_empty_database_says_what_leaving_it_out_means(command, variable, tmp_path):
    """`turing remove --database ""` said "or leave it out for the study's SQLite file" (the fifth sweep), and
    with $IMPROVED_GAN_TURING_DATABASE set every command said so, though leaving it out meant that database."""
    from clitools import cli

    url = f"sqlite:///{tmp_path}/elsewhere.sqlite3" if variable == "set" else ""  # set but empty: as unset
    argv = [a.replace("{tmp}", str(tmp_path)) for a in EMPTY_DATABASE[command]]
    result = cli("turing", *argv, "--database", "", check=False, env={"IMPROVED_GAN_TURING_DATABASE": url})
    if variable == "set":
        instead = "leave it out for the one in $IMPROVED_GAN_TURING_DATABASE"
    else:
        instead = ("set $IMPROVED_GAN_TURING_DATABASE and leave it out" if command == "remove"
                   else "leave it out for the study's SQLite file")
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == f"error: --database is empty; give a database URL, or {instead}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made (no store, no study)


def test_a_study_folder_that_is_a_link_to_nothing_is_refused(pools):
    """`turing create LINK`, LINK a symbolic link to nothing, made the study where the link led (the fifth sweep);
    every other folder a command makes refuses such a link (runs/out_paths.py, check_folder_path)."""
    from clitools import cli, tree

    (pools / "link").symlink_to(pools / "elsewhere")
    before = tree(pools)
    result = cli("turing", *_filled(pools, _create("{tmp}/link"))[1:], check=False)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == (f"error: the study folder {pools / 'link'} is a symbolic link to {pools / 'elsewhere'}, "
                             "which does not exist; make that folder, or choose another path (nothing was written)\n")
    assert tree(pools) == before and not (pools / "elsewhere").exists()


IN_MEMORY = "an in-memory database keeps nothing; name a file (sqlite:///path/turing.sqlite3)"


def _refused_alone(result, said: str) -> None:
    """``result`` (clitools.cli's) exited with status 2 and the one line ``error: SAID``, no traceback."""
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {said}\n"), result.stderr


@pytest.mark.parametrize("command", EMPTY_DATABASE)
def test_an_in_memory_database_is_refused_by_every_command(command, tmp_path):
    """`--database sqlite:///` was SQLAlchemy's TypeError "Invalid argument(s) 'max_overflow','pool_timeout' sent
    to create_engine()" (exit status 1; create's only after reading its pools), on every command with
    --database (the seventh sweep)."""
    from clitools import cli

    argv = [a.replace("{tmp}", str(tmp_path)) for a in EMPTY_DATABASE[command]]
    _refused_alone(cli("turing", *argv, "--database", "sqlite:///", check=False), f"--database sqlite:///: {IN_MEMORY}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made (no store, no study)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///"])
@pytest.mark.parametrize("where", ["flag", "variable"])
def test_every_spelling_of_an_in_memory_database_is_refused(url, where, tmp_path):
    from clitools import cli

    flag, env = (["--database", url], {}) if where == "flag" else ([], {"IMPROVED_GAN_TURING_DATABASE": url})
    _refused_alone(cli("turing", "remove", "--yes", "st0", *flag, check=False, env=env),
                   f"--database {url}: {IN_MEMORY}")


def test_a_query_string_on_a_sqlite_url_is_refused_before_anything_is_removed(study, pools):
    """`remove --yes --database sqlite:////ST/turing.sqlite3?mode=ro` removed the study: SQLAlchemy ignored
    ``?mode=ro`` with a warning (the seventh sweep)."""
    from clitools import cli, tree

    slug = json.loads((study / "study.json").read_text())["options"]["slug"]
    before = tree(pools)
    for command in (["remove", "--yes", slug], ["results", str(study)]):
        url = f"sqlite:///{study}/turing.sqlite3?mode=ro"
        _refused_alone(cli("turing", *command, "--database", url, check=False),
                       f"--database {url}: a SQLite URL takes no query string (?mode=ro would not be applied); "
                       "name the file alone (sqlite:///path/turing.sqlite3)")
    assert tree(pools) == before


@pytest.mark.parametrize("query", ["mode", "", "&", "mode=ro&cache"], ids=["a-bare-key", "empty", "a-lone-ampersand",
                                                                         "a-key-and-a-bare-one"])
def test_every_query_string_on_a_sqlite_url_is_refused(query, study, pools):
    """`--database sqlite:///ST/turing.sqlite3?mode` was taken (SQLAlchemy drops a key without "="), while
    ``?mode=ro`` was refused: a command given it wrote (the eighth sweep)."""
    from clitools import cli, tree

    before = tree(pools)
    url = f"sqlite:///{study}/turing.sqlite3?{query}"
    _refused_alone(cli("turing", "invite", str(study), "--n", "1", "--database", url, check=False),
                   f"--database {url}: a SQLite URL takes no query string (?{query} would not be applied); "
                   "name the file alone (sqlite:///path/turing.sqlite3)")
    assert tree(pools) == before


EXPECTED_URL = "(expected e.g. sqlite:///path/turing.sqlite3 or postgresql+psycopg://user@host/dbname)"
SECRET_URLS = {  # a URL as given, and as its refusal says it: never the password
    "no-scheme-separator": ("postgresql//u:s3cret@host/db", f"not a database URL: 'postgresql//u:***@host/db' "
                                                             f"{EXPECTED_URL}"),
    "a-space-in-the-scheme": ("postgres ql://u:s3cret@host/db", f"not a database URL: 'postgres ql://u:***@host/db' "
                                                                 f"{EXPECTED_URL}"),
    "a-port-not-a-number": ("postgresql://u:s3cret@host:5432x/db",  # a ValueError traceback, exit status 1
                            f"not a database URL: 'postgresql://u:***@host:5432x/db' {EXPECTED_URL}"),
    "an-at-sign-in-the-password": ("postgres ql://u:s3@cret@host/db",
                                   f"not a database URL: 'postgres ql://u:***@host/db' {EXPECTED_URL}"),
    "sqlite-in-memory": ("sqlite://u:s3cret@", f"--database sqlite://u:***@: {IN_MEMORY}"),
    "sqlite-with-a-query": ("sqlite://u:s3cret@/f?mode=ro", "--database sqlite://u:***@/f?mode=ro: a SQLite URL "
                            "takes no query string (?mode=ro would not be applied); name the file alone "
                            "(sqlite:///path/turing.sqlite3)"),
}


@pytest.mark.parametrize("where", ["flag", "variable"])
@pytest.mark.parametrize("url, said", SECRET_URLS.values(), ids=SECRET_URLS.keys())
def test_a_refused_url_is_said_without_its_password(url, said, where, tmp_path):
    """`--database 'postgres ql://user:secret@host/db'` was refused with the whole URL, password and all, on the
    terminal and in any log of it (the eighth sweep)."""
    from clitools import cli

    flag, env = (["--database", url], {}) if where == "flag" else ([], {"IMPROVED_GAN_TURING_DATABASE": url})
    result = cli("turing", "remove", "--yes", "st0", *flag, check=False, env=env)
    _refused_alone(result, said)
    assert "s3" not in result.stderr and "cret" not in result.stderr


@pytest.mark.parametrize("argv", [["results"], ["token"], ["invite", "--n", "1"], ["serve", "--port", "1"]],
                         ids=["results", "token", "invite", "serve"])
def test_a_store_that_is_a_link_out_of_the_study_is_refused(argv, study, tmp_path):
    """`invite`, `token` and `results` wrote through a study's turing.sqlite3 that was a symbolic link to a file
    outside the study (the ninth sweep): SQLite's -wal and -shm landed beside the target."""
    from clitools import cli, tree

    outside = tmp_path / "elsewhere" / "turing.sqlite3"
    outside.parent.mkdir()
    (study / "turing.sqlite3").rename(outside)
    for name in ("turing.sqlite3-wal", "turing.sqlite3-shm"):
        (study / name).unlink(missing_ok=True)
    (study / "turing.sqlite3").symlink_to(outside)
    before, beside = tree(study), tree(outside.parent)
    result = cli("turing", argv[0], str(study), *argv[1:], check=False)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == (f"error: {study / 'turing.sqlite3'} is a symbolic link to {outside}, outside the study "
                             "folder; a command writes no file through a link (SQLite would put its -wal and -shm "
                             "files beside it): replace the link with the store itself, or name that file with "
                             f"--database sqlite:///{outside}\n")
    assert tree(study) == before and tree(outside.parent) == beside


@pytest.mark.parametrize("argv, stores", [(["invite", "--n", "1"], "invitation"), (["token"], "new owner token")],
                         ids=["invite", "token"])
def test_a_read_only_study_names_what_the_command_would_store(argv, stores, study, capsys, monkeypatch):
    """`invite` and `token` on a read-only study said "so no vote could be stored" (the ninth sweep). As root a
    read-only folder is writable but for a read-only disk: the folder's answer is made read-only here."""
    import os

    from improved_gan.turing import served

    monkeypatch.setattr(served.os, "access", lambda path, mode: mode != os.W_OK)
    one_line_error(capsys, ["turing", argv[0], str(study), *argv[1:]],
                   f"is read-only, so no {stores} could be stored; make it writable")
