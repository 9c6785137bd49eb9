"""`turing invite` and `turing token` show what they store, or store nothing: a full disk, a stop signal or a
failing database never leaves invitation codes (seats) or an owner token in the database that no file or print
shows (the fourth sweep's D1, D2 and D4; `turing remove`, the fifth sweep's B). Real signals are sent to this process at a hooked moment: the
deferral of utils/signals.py acts on signals only, not on a KeyboardInterrupt raised by hand."""

from __future__ import annotations

import csv
import errno
import io
import logging
import os
import signal

import pytest
from sqlalchemy import select
from sqlalchemy.engine.default import DefaultDialect

from improved_gan.cli.main import main
from improved_gan.turing import schema, security
from improved_gan.turing.database import default_url
from improved_gan.turing.store import Store
from improved_gan.utils.signals import STOP_SIGNALS


@pytest.fixture(autouse=True)
def stop_handlers_restored():
    """main() leaves its stop handler in place after a signal ended a command (a second one ends the process at
    once): put pytest's back."""
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def stored_code_hashes(created) -> set[str]:
    store = Store.open(default_url(created.folder))
    try:
        with store.engine.connect() as conn:
            return set(conn.execute(select(schema.invitations.c.code_hash)).scalars())
    finally:
        store.close()


def owner_token_hash(created) -> str:
    store = Store.open(default_url(created.folder))
    try:
        return store.study(created.slug).owner_token_hash
    finally:
        store.close()


def shown_codes(table: str) -> set[str]:
    return {row["code"] for row in csv.DictReader(io.StringIO(table))}


def stop_after(monkeypatch, owner, name: str, signum: int) -> None:
    """``owner.name`` sends ``signum`` to this process once it has returned: a stop landing right after it."""
    real = getattr(owner, name)

    def then_stopped(*args, **kwargs):
        result = real(*args, **kwargs)
        os.kill(os.getpid(), signum)
        return result

    monkeypatch.setattr(owner, name, then_stopped)


def test_a_full_disk_stores_no_invitation(make_study, capsys, tmp_path, monkeypatch):
    """D1: the codes were committed, then the file failed (ENOSPC): exit 2 with 50 valid seats nobody saw."""
    from improved_gan.utils import atomic

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    created = make_study(invitations=0)
    monkeypatch.setattr(atomic.os, "fsync", no_space)  # the file's bytes
    out = tmp_path / "codes.csv"
    assert main(["turing", "invite", str(created.folder), "--n", "50", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err == f"error: cannot write {out} (No space left on device); no invitation was made\n"
    assert stored_code_hashes(created) == set()
    assert os.listdir(tmp_path) == [created.folder.name]  # no file, no temporary file


@pytest.mark.parametrize("to_file, signum", [(True, signal.SIGTERM), (False, signal.SIGINT)])
def test_a_stop_right_after_the_commit_shows_the_codes_and_says_so(make_study, capsys, tmp_path, monkeypatch,
                                                                   to_file, signum):
    """D2: a stop between the commit and the output left the codes stored, shown nowhere, and the message said
    "nothing was left half-written ... run the command again" (which made another batch)."""
    created = make_study(invitations=0)
    out = tmp_path / "inv.csv"
    stop_after(monkeypatch, Store, "add_invitations", signum)
    argv = ["turing", "invite", str(created.folder), "--n", "5"] + (["--out", str(out)] if to_file else [])
    assert main(argv) == 128 + signum
    printed, err = capsys.readouterr()
    shown = shown_codes((out.read_text() if out.exists() else "") if to_file else printed)
    stored = stored_code_hashes(created)
    assert {security.hash_token(code) for code in shown} == stored  # every stored code shown, none that is not
    said = err.splitlines()[-1]
    if stored:
        where = f"written to {out}" if to_file else "printed"
        assert len(stored) == 5 and said.endswith(f"once the 5 invitations were made and {where}"), err
    else:
        assert "nothing was left half-written" in said, err


def test_a_stop_before_the_commit_leaves_no_file_of_codes(make_study, capsys, tmp_path, monkeypatch):
    """The file is written before the commit; a stop in between removes it (its codes open nothing)."""
    created = make_study(invitations=0)
    out = tmp_path / "inv.csv"
    real = Store.add_invitations

    def stopped_first(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(Store, "add_invitations", stopped_first)
    assert main(["turing", "invite", str(created.folder), "--n", "5", "--out", str(out)]) == 143
    assert "terminated (SIGTERM): nothing was left half-written" in capsys.readouterr().err
    assert not out.exists() and stored_code_hashes(created) == set()


def test_a_failed_commit_leaves_no_file_of_codes(make_study, capsys, tmp_path, monkeypatch):
    import sqlite3

    def disk_full(self, connection):
        raise sqlite3.OperationalError("database or disk is full")

    created = make_study(invitations=0)
    out = tmp_path / "inv.csv"
    monkeypatch.setattr(DefaultDialect, "do_commit", disk_full)
    assert main(["turing", "invite", str(created.folder), "--n", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is full" in err, err
    monkeypatch.undo()
    assert not out.exists() and stored_code_hashes(created) == set()


def check_token_outcome(created, printed: str) -> None:
    """The stored owner token is the one printed, or, with none printed, still the old one."""
    new = printed.rsplit(": ", 1)[-1].strip() if printed else None
    assert owner_token_hash(created) == security.hash_token(new or created.owner_token), printed


def test_a_stop_right_after_the_token_is_stored_prints_it(make_study, capsys, monkeypatch):
    """The token's twin of D2: a stop after the commit lost the only copy of the new token (the old one no longer
    worked)."""
    created = make_study(invitations=0)
    stop_after(monkeypatch, Store, "set_owner_token_hash", signal.SIGHUP)
    assert main(["turing", "token", str(created.folder)]) == 129
    printed, err = capsys.readouterr()
    check_token_outcome(created, printed)
    assert printed and err == "terminated (SIGHUP) once the new owner token was printed (the old one no longer works)\n"


def test_a_stop_inside_the_database_close_is_one_line(make_study, capsys, caplog, monkeypatch):
    """D4: a signal landing in SQLAlchemy's close of a connection was logged as "Exception closing connection" with
    a traceback before the command's line (and the token, printed after the close, was lost)."""
    created = make_study(invitations=0)
    real = DefaultDialect.do_close
    sent = []

    def signalled_close(self, connection):
        if not sent:
            sent.append(os.kill(os.getpid(), signal.SIGHUP))
        real(self, connection)

    monkeypatch.setattr(DefaultDialect, "do_close", signalled_close)
    with caplog.at_level(logging.ERROR, logger="sqlalchemy"):
        assert main(["turing", "token", str(created.folder)]) == 129
    printed, err = capsys.readouterr()
    assert sent and not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("terminated (SIGHUP)"), err
    check_token_outcome(created, printed)


def test_remove_stopped_after_its_delete_says_the_study_was_removed(make_study, capsys, monkeypatch):
    """The fifth sweep's B: a SIGTERM after the delete was committed said "nothing was left half-written ... run
    the command again", and the study was gone. The delete and its line are now one step."""
    created = make_study(invitations=0)
    stop_after(monkeypatch, Store, "remove_study", signal.SIGTERM)
    url = default_url(created.folder).render_as_string(hide_password=False)
    status = main(["turing", "remove", created.slug, "--database", url, "--yes"])
    out, err = capsys.readouterr()
    assert status == 143 and f"removed study {created.slug!r}" in out, (status, out, err)
    assert err.strip().splitlines()[-1] == (f"terminated (SIGTERM) once study {created.slug!r} was removed from "
                                            "the database"), err


def test_a_second_invite_into_the_same_new_file_is_refused_and_stores_nothing(make_study, capsys, tmp_path,
                                                                               monkeypatch):
    """The seventh sweep's race: two `invite --n 3 --out inv.csv` at once (the file new) both exited 0; the study
    got 6 invitations and inv.csv held 3 codes, 3 valid seats nobody saw. Here the other invite runs, whole,
    between this one's check of the file and its publishing (as this one's bytes are synced)."""
    from improved_gan.utils import atomic

    created = make_study(invitations=0)
    out = tmp_path / "inv.csv"
    fsync, argv = atomic.os.fsync, ["turing", "invite", str(created.folder), "--n", "3", "--out", str(out)]

    def the_other_invite_first(fd):
        monkeypatch.setattr(atomic.os, "fsync", fsync)  # the other invite's own write is not hooked
        assert main(argv) == 0
        fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", the_other_invite_first)
    assert main(argv) == 2
    printed, err = capsys.readouterr()
    assert printed == f"wrote 3 invitations to {out} (keep it private: each code is a seat)\n"  # the other's
    said = err.splitlines()[-1]
    assert said == (f"error: {out} appeared meanwhile (another process wrote it); invitation codes are shown once, "
                    "so choose a new file (no invitation was made)"), err
    shown = shown_codes(out.read_text())
    assert len(shown) == 3 and {security.hash_token(code) for code in shown} == stored_code_hashes(created)
    assert sorted(os.listdir(tmp_path)) == sorted([created.folder.name, "inv.csv"])  # no temporary file
