"""Faults: storage failing under the server, read-only studies, bad addresses, bad CLI inputs."""

from __future__ import annotations

import logging
import os
import stat

import numpy as np
import pytest
from sqlalchemy.exc import OperationalError

from improved_gan.cli.main import main
from improved_gan.turing import health
from improved_gan.turing.client import ScriptedAnnotator

from turing.study_data import study_pools


def test_storage_failure_gives_a_page_and_one_log_line(make_study, client_for, caplog, monkeypatch):
    created = make_study(feedback="off")
    client = client_for(created)
    annotator = ScriptedAnnotator(client, created.slug)
    annotator.start(created.code())
    trial = annotator.current()
    store = client.app.state.studies["demo"].store

    def disk_full(*args, **kwargs):
        raise OperationalError("UPDATE turing_sessions", {}, Exception("database or disk is full"))

    monkeypatch.setattr(store, "record_vote", disk_full)
    with caplog.at_level(logging.ERROR, logger="improved_gan.turing"):
        response = annotator.vote(trial, "real")
    assert response.status_code == 503 and "Please try again in a minute" in response.text
    assert "Traceback" not in response.text and "disk is full" not in response.text
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["storage failure: POST /s/demo/vote: OperationalError: database or disk is full"]
    assert caplog.records[0].exc_info is None  # one line, no traceback


def test_healthz_checks_the_database_and_the_disk(make_study, client_for, monkeypatch):
    created = make_study()
    client = client_for(created)
    assert client.get("/healthz").text == "ok\n"
    served = client.app.state.studies["demo"]
    monkeypatch.setattr(health.shutil, "disk_usage", lambda path: type("U", (), {"free": 1024})())
    full = client.get("/healthz")
    assert full.status_code == 503 and full.text.startswith("demo: 0 MiB free")

    def down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(served.store, "ping", down)
    unreachable = client.get("/healthz")
    assert unreachable.status_code == 503 and "database unreachable (connection refused)" in unreachable.text


def test_feedback_position_beyond_any_session_is_a_404_not_a_500(make_study, client_for):
    created = make_study()
    client = client_for(created)
    ScriptedAnnotator(client, created.slug).start(created.code())
    for position in (str(2**63), str(2**64 + 5), "100000", "-1"):
        response = client.get(f"/s/demo/feedback/{position}")
        assert response.status_code in (400, 404), position


@pytest.fixture
def read_only_study(make_study):
    created = make_study()
    paths = [created.folder, *created.folder.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        os.chmod(p, stat.S_IMODE(modes[p]) & ~0o222)
    yield created
    for p in reversed(paths):
        os.chmod(p, stat.S_IMODE(modes[p]))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files anyway")
def test_results_of_a_read_only_study(read_only_study, capsys):
    assert main(["turing", "results", str(read_only_study.folder)]) == 0
    assert "0 votes from 0 annotators" in capsys.readouterr().out
    assert main(["turing", "token", str(read_only_study.folder)]) == 2
    assert "read-only" in capsys.readouterr().err


def test_results_open_the_store_read_only(make_study, capsys, monkeypatch):
    created = make_study()
    db = created.folder / "turing.sqlite3"
    before = db.stat().st_mtime_ns, db.read_bytes()
    assert main(["turing", "results", str(created.folder)]) == 0
    assert (db.stat().st_mtime_ns, db.read_bytes()) == before  # (a WAL reader may add -shm)
    # A folder SQLite cannot write in (as a read-only disk): opened immutable, still readable.
    from improved_gan.turing import database

    monkeypatch.setattr(database.os, "access", lambda path, mode: False)
    assert main(["turing", "results", str(created.folder)]) == 0
    assert "0 votes from 0 annotators" in capsys.readouterr().out
    assert main(["turing", "token", str(created.folder)]) == 2  # served.py's own check
    assert "read-only" in capsys.readouterr().err


@pytest.fixture
def sources(tmp_path):
    real, generated = study_pools(20)
    np.savez(tmp_path / "real.npz", x=real.images)
    np.savez(tmp_path / "generated.npz", x=generated.images)
    return tmp_path


def one_line_error(capsys, argv, expected: str) -> None:
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and expected in err, err


def test_bad_cli_inputs_are_one_line(sources, capsys, tmp_path):
    create = ["turing", "create", str(tmp_path / "s"), "--per-session", "4", "--feedback", "off"]
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip")
    one_line_error(capsys, [*create, "--real", str(tmp_path / "corrupt.npz"),
                            "--generated", str(sources / "generated.npz")], "--real")
    (tmp_path / "pngs").mkdir()
    (tmp_path / "pngs" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    one_line_error(capsys, [*create, "--real", str(sources / "real.npz"),
                            "--generated", str(tmp_path / "pngs")], "--generated")
    (tmp_path / "dir.sqlite3").mkdir()
    one_line_error(capsys, [*create, "--real", str(sources / "real.npz"), "--generated",
                            str(sources / "generated.npz"), "--database",
                            f"sqlite:///{tmp_path / 'dir.sqlite3'}"], "is a folder")
    (tmp_path / "garbage.sqlite3").write_bytes(b"not a database at all, just bytes")
    one_line_error(capsys, [*create, "--real", str(sources / "real.npz"), "--generated",
                            str(sources / "generated.npz"), "--database",
                            f"sqlite:///{tmp_path / 'garbage.sqlite3'}"], "not a SQLite database")
    one_line_error(capsys, [*create, "--real", str(sources / "real.npz"), "--generated",
                            str(sources / "generated.npz"), "--database",
                            "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"],
                   "the database failed")
    assert not (tmp_path / "s").exists()
    assert main([*create, "--real", str(sources / "real.npz"),
                 "--generated", str(sources / "generated.npz")]) == 0
    capsys.readouterr()
    one_line_error(capsys, ["turing", "results", str(tmp_path / "s"), "--json",
                            str(tmp_path / "s" / "turing.sqlite3" / "x.json")], "x.json")
    with pytest.raises(SystemExit) as exit_:
        main(["turing", "serve", str(tmp_path / "s"), "--port", "70000"])
    assert exit_.value.code == 2 and "a port is 1-65535" in capsys.readouterr().err


def test_create_warns_about_pools_that_leak_through_repetition(sources, capsys, tmp_path):
    real, _ = study_pools(20)
    np.savez(tmp_path / "few.npz", x=real.images[:5])
    assert main(["turing", "create", str(tmp_path / "w"), "--real", str(sources / "real.npz"),
                 "--generated", str(tmp_path / "few.npz"), "--per-session", "4",
                 "--tutorial", "0", "--feedback", "off"]) == 0
    err = capsys.readouterr().err
    assert "warning: the generated pool (5 images) is 2.8x smaller" in err  # 20 real, 6 made checks
    assert "use at least 8 of each kind" in err


def test_invite_and_remove(make_study, capsys, tmp_path):
    created = make_study(invitations=0)
    labels = tmp_path / "ids.txt"
    labels.write_text("prolific-1\nprolific-2\n\n")
    out = tmp_path / "inv.csv"
    assert main(["turing", "invite", str(created.folder), "--labels", str(labels),
                 "--out", str(out), "--base-url", "https://study.example/"]) == 0
    assert "2 invitations, 0 used" in capsys.readouterr().err
    rows = out.read_text().splitlines()
    assert rows[0] == "label,code,link" and len(rows) == 3
    label, code, link = rows[1].split(",")
    assert label == "prolific-1" and link == f"https://study.example/s/demo/#code={code}"
    one_line_error(capsys, ["turing", "invite", str(created.folder), "--n", "2", "--out", str(out)],
                   "exists")
    labels.write_text("a\na\n")
    one_line_error(capsys, ["turing", "invite", str(created.folder), "--labels", str(labels)],
                   "appears twice")
    url = f"sqlite:///{created.folder / 'turing.sqlite3'}"
    one_line_error(capsys, ["turing", "remove", "demo", "--database", url], "add --yes")
    one_line_error(capsys, ["turing", "remove", "absent", "--database", url, "--yes"],
                   "no study named 'absent'")
    assert main(["turing", "remove", "demo", "--database", url, "--yes"]) == 0
    assert "removed study 'demo'" in capsys.readouterr().out
    assert created.folder.is_dir()  # the folder is the user's to delete


def test_orphan_free_create_against_an_external_database(tmp_path, monkeypatch):
    from improved_gan.errors import UserError
    from improved_gan.turing.config import StudyOptions
    from improved_gan.turing.create import create_study
    from improved_gan.turing.store import Store

    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    real, generated = study_pools(8)
    real_rename = type(tmp_path).rename

    def failing_rename(self, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(tmp_path), "rename", failing_rename)
    with pytest.raises(UserError, match="No space left on device"):
        create_study(tmp_path / "x", StudyOptions(slug="x", per_session=4), real=real,
                     generated=generated, database_url=url)
    monkeypatch.setattr(type(tmp_path), "rename", real_rename)
    store = Store.open(url)
    assert store.study("x") is None  # no orphan rows
    store.close()
    assert sorted(os.listdir(tmp_path)) == ["shared.sqlite3", "shared.sqlite3-shm",
                                           "shared.sqlite3-wal"] or "x" not in os.listdir(tmp_path)
