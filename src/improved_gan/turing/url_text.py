"""A database URL as a message says it: its password masked (``***``), without SQLAlchemy, so that a URL that does
not even parse is said safely too (`--database 'postgres ql://user:secret@host/db'` was refused with the
password in the line: on the terminal, in a log, in a screenshot of either)."""

from __future__ import annotations

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
