"""A database URL's text, read without SQLAlchemy: its password masked (``***``) wherever a message says it, so that
a URL that does not even parse is said safely too (`--database 'postgres ql://user:secret@host/db'` was refused with
the password in the line: on the terminal, in a log, in a screenshot of either); and the rules its text alone
decides (:func:`check_url_text`), so that a command refuses such a URL before SQLAlchemy is imported (1.1-1.6 s
under load before, the eighth sweep of docs/cli.md)."""

from __future__ import annotations

import re

from improved_gan.errors import ConfigError

MASK = "***"


def masked(url: str) -> str:
    """``url`` with what may be its password masked: from the first ``:`` after the scheme's ``://`` (or the
    start, without one) to the last ``@``; with no ``@``, the text after a ``:`` of the host part up to the next
    ``/``, unless it is a port number. It
    masks more than the password where the URL is odd (a ``:`` or ``@`` in a path), never less."""
    start = url.find("://")
    start = 0 if start < 0 else start + len("://")
    at = url.rfind("@", start)
    colon = url.find(":", start, len(url) if at < 0 else at)
    if colon < 0:
        return url
    if at >= 0:
        return f"{url[:colon + 1]}{MASK}{url[at:]}"
    end = url.find("/", colon)  # `scheme://user:secret/db` (no host): read as a port, masked unless it is one
    end = len(url) if end < 0 else end
    if "/" in url[start:colon] or url[colon + 1:end].isdigit() or colon + 1 == end:  # a path's ":", a port
        return url
    return f"{url[:colon + 1]}{MASK}{url[end:]}"


SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
EXAMPLE_FILE = "sqlite:///path/turing.sqlite3"


def not_a_url(url: str) -> str:
    """The refusal of a text that is not a database URL (said masked)."""
    return (f"not a database URL: {masked(url)!r} (expected e.g. {EXAMPLE_FILE} "
            "or postgresql+psycopg://user@host/dbname)")


def sqlite_query_refusal(url: str, query: str) -> str:
    """The refusal of a SQLite URL with a query string (SQLAlchemy ignored ``?mode=ro`` with a warning, and dropped
    ``?mode`` without one: a command given it wrote)."""
    return (f"--database {masked(url)}: a SQLite URL takes no query string (?{query} would not be applied); "
            f"name the file alone ({EXAMPLE_FILE})")


def sqlite_memory_refusal(url: str) -> str:
    """The refusal of an in-memory SQLite URL (it keeps nothing; SQLAlchemy's pool for one refused the engine's
    settings with a TypeError)."""
    return f"--database {masked(url)}: an in-memory database keeps nothing; name a file ({EXAMPLE_FILE})"


def check_url_text(url: str) -> None:
    """Raise ConfigError for a URL that its text shows the store cannot use: no ``scheme://``; a SQLite URL with a
    query string, even an empty one or a bare key; a SQLite URL that names no file (``sqlite://``, ``sqlite:///``,
    ``sqlite:///:memory:``); a port that is not a number (``host:5432x``). :func:`~improved_gan.turing.database.
    parse_url` asks it first, and the CLI asks it before SQLAlchemy is imported; the rest of a URL's grammar is
    SQLAlchemy's, in parse_url."""
    match = SCHEME.match(url)
    if match is None or not _port_is_a_number(url[match.end():]):
        raise ConfigError(not_a_url(url))
    if match.group(1).split("+")[0].lower() != "sqlite":
        return
    if "?" in url:
        raise ConfigError(sqlite_query_refusal(url, url.partition("?")[2]))
    database = url[match.end():].partition("/")[2]  # sqlite://[host]/database, as SQLAlchemy reads it
    if database in ("", ":memory:"):
        raise ConfigError(sqlite_memory_refusal(url))


def _port_is_a_number(rest: str) -> bool:
    """Whether the port of a URL's authority (``rest``: the URL after ``scheme://``) is absent or digits, as
    SQLAlchemy requires (it raised a ValueError for ``host:notaport``). ``[v6]:port`` hosts are read as such; a
    list of hosts (``h1:1,h2:2``) is left to SQLAlchemy."""
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if "," in host:
        return True
    if host.startswith("["):
        host = host.partition("]")[2]  # what follows the address: "" or ":port"
    port = host.rpartition(":")[2] if ":" in host else ""
    return port == "" or port.isascii() and port.isdigit()
