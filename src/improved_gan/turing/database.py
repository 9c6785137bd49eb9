"""Database engines for the study store: SQLite (WAL) by default, any SQLAlchemy URL.

SQLite is tuned for many concurrent annotators in one server process:

* ``journal_mode=WAL`` lets readers proceed while one writer commits;
* ``synchronous=FULL`` fsyncs the log at every commit, so a vote that was
  acknowledged survives a crash of the process or of the machine;
* write transactions open with ``BEGIN IMMEDIATE`` (see :func:`write_engine`):
  they take the write lock up front and wait for it (``busy_timeout``) instead
  of failing with ``SQLITE_BUSY`` when a read snapshot cannot be upgraded.

Other back ends (PostgreSQL through ``postgresql+psycopg://...``) keep their
server's defaults; the store's writes are single conditional statements whose
outcome READ COMMITTED already decides correctly.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from improved_gan.errors import ConfigError
from improved_gan.turing.url_text import check_url_text, not_a_url, sqlite_memory_refusal, sqlite_query_refusal

SQLITE_FILENAME = "turing.sqlite3"
BUSY_TIMEOUT_S = 30.0

# Execution option read by the SQLite "begin" hook: which BEGIN to emit.
_SQLITE_BEGIN = "improved_gan_sqlite_begin"


def default_url(study_dir: str | Path) -> URL:
    """The SQLite file inside a study folder, as a URL object: the folder's name is the path whatever it holds. (A
    string built by formatting put the store of a folder ``q?x`` in a file ``q`` beside it, SQLAlchemy reading the
    rest as a query string; and a string form has no spelling of ``?`` in the path that SQLAlchemy 2.0 reads back.)"""
    return URL.create("sqlite", database=str(Path(study_dir).resolve() / SQLITE_FILENAME))


SQLITE_FULL = 13
"""SQLite's result code for a full disk (or database): ``database or disk is full``."""
SQLITE_IOERR = 10
"""SQLite's result code for a failed read or write: ``disk I/O error``. It is what SQLite says when a full disk
refuses to grow its shared-memory file (``SQLITE_IOERR_SHMSIZE``, ``turing.sqlite3-shm``), the ninth sweep's
`invite` with about 60 KiB free, which was told to restore an undamaged database from a backup."""
LOW_FREE_BYTES = 1 << 20
"""Below this much free space on its file system, a SQLite ``disk I/O error`` is the full disk's: SQLite grows its
-shm file by 32 KiB and its -wal file by pages of its transaction."""
POSTGRES_DISK_FULL = "53100"
"""PostgreSQL's SQLSTATE ``disk_full``."""


def storage_full(err: BaseException, where: Path | None = None) -> bool:
    """Whether a database error (SQLAlchemy's, or its driver's) says the disk under the database is full.
    ``where``: a path on the SQLite file's file system (the file, or a folder it is or will be in; the nearest
    existing folder above it is read), given which a ``disk I/O error`` with less than :data:`LOW_FREE_BYTES` free
    there is a full disk too."""
    cause = getattr(err, "orig", None) or err
    code = getattr(cause, "sqlite_errorcode", None)
    if code is not None:  # extended codes keep the primary one in the low byte
        return code & 0xFF == SQLITE_FULL or (code & 0xFF == SQLITE_IOERR and where is not None
                                               and _free_bytes(where) < LOW_FREE_BYTES)
    return getattr(cause, "sqlstate", None) == POSTGRES_DISK_FULL


def _free_bytes(where: Path) -> int:
    """The bytes free on the file system of ``where`` or, if it does not exist, of its nearest existing folder
    (unreadable: taken as plenty, so that only the error code decides)."""
    for path in (Path(where), *Path(where).parents):
        try:
            return shutil.disk_usage(path).free
        except FileNotFoundError:
            continue
        except OSError:
            break
    return LOW_FREE_BYTES


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another back end, an in-memory database or a URL that does not parse."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def store_file(url: str | None, study_dir: str | Path | None) -> Path | None:
    """The SQLite file a command's store is in: ``url``'s (None for another back end), else the study folder's own
    (None without one)."""
    if url is not None:
        return sqlite_file(url)
    return None if study_dir is None else Path(study_dir).resolve() / SQLITE_FILENAME


def parse_url(url: str | URL) -> URL:
    """``url`` parsed (SQLAlchemy's URL), or ConfigError when it is not one the store can keep studies in: the one
    check of a database URL, made by every command where it reads ``--database`` (before any other work) and by
    :func:`open_engine`. The rules a URL's text decides (a SQLite URL names a file and has no query string) are
    :func:`~improved_gan.turing.url_text.check_url_text`'s, asked first; a URL object (:func:`default_url`'s) is
    held to the same rules by its fields. A URL said back has its password masked."""
    if isinstance(url, str):
        check_url_text(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number (`host:5432x`)
        raise ConfigError(not_a_url(str(url))) from None
    if parsed.get_backend_name() != "sqlite":
        return parsed
    if parsed.query:
        raise ConfigError(sqlite_query_refusal(str(url), "&".join(parsed.query)))
    if not parsed.database or parsed.database == ":memory:":
        raise ConfigError(sqlite_memory_refusal(str(url)))
    return parsed


def open_engine(url: str | URL, *, read_only: bool = False, must_exist: bool = False) -> Engine:
    """An engine for ``url``, with SQLite set up for concurrent, durable writes.

    ``read_only`` (SQLite): the file is opened with ``mode=ro``, and with
    ``immutable=1`` when its folder is not writable (SQLite could not make the
    WAL's shared-memory file there; nothing can be writing to it either).
    A missing file (with ``read_only`` or ``must_exist``: nothing is created
    then), an unreadable one, a folder in its place or a file that is not a
    SQLite database is a :class:`ConfigError`.
    """
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(_checked_sqlite_url(parsed, read_only, must_exist), read_only=read_only)
        return create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as err:
        raise ConfigError(
            f"no driver for database URL {parsed.render_as_string(hide_password=True)!r} ({err}); "
            "for PostgreSQL install psycopg (pip install 'improved-gan[postgres]') "
            "and use postgresql+psycopg://..."
        ) from None


def _checked_sqlite_url(parsed: URL, read_only: bool, must_exist: bool = False) -> URL:
    """The SQLite URL to open, after checking its file; for ``read_only``, SQLite's URI filename of the file with
    ``mode=ro``, its path percent-encoded (SQLite reads ``?``, ``#`` and ``%`` in it as the URI's own)."""
    path = Path(parsed.database)  # a file's (parse_url)
    if path.is_dir():
        raise ConfigError(f"the SQLite database {path} is a folder; give the path of a file")
    if path.exists():
        try:
            with open(path, "rb") as f:
                header = f.read(16)
        except OSError as err:
            raise ConfigError(f"cannot read the SQLite database {path}: {err.strerror}") from None
        if header and header != b"SQLite format 3\x00":
            raise ConfigError(f"{path} is not a SQLite database (its first bytes are {header[:8]!r})")
    elif read_only or must_exist:
        raise ConfigError(f"there is no SQLite database at {path}; check the --database URL (nothing was created)")
    elif not path.parent.is_dir():
        raise ConfigError(f"the folder of the SQLite database {path} does not exist")
    if not read_only:
        return parsed
    flags = {"mode": "ro"} if os.access(path.parent, os.W_OK) else {"mode": "ro", "immutable": "1"}
    return URL.create("sqlite", database=f"file:{quote(str(path.resolve()))}", query={**flags, "uri": "true"})


def write_engine(engine: Engine) -> Engine:
    """The same engine, whose transactions take SQLite's write lock when they begin."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})


def _sqlite_engine(url: URL, *, read_only: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=8,
        max_overflow=32,
        pool_timeout=BUSY_TIMEOUT_S,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # The driver's own transaction handling is turned off: the "begin" hook
        # below emits BEGIN itself, which is how BEGIN IMMEDIATE becomes possible.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
