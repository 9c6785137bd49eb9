"""Invitations: the owner decides who takes part, one sequence per person.

A session opens only with an invitation code (256 random bits, shown once;
the store keeps its SHA-256). Each code opens one session, whose feedback arm
was fixed when the code was made (:func:`improved_gan.turing.sequencing.assign_arms`);
using the code again, in another browser or after clearing cookies, resumes
that same session. So a person can neither hop between feedback arms nor
harvest the answer key by starting over, and never sees an image twice.

A code may carry a label, e.g. a crowdsourcing platform's participant id, which
appears with that annotator's votes in the exports. The owner hands out links
``<base>/s/<slug>/#code=<code>``: the code is in the fragment, which browsers
never send to a server (so no access log or proxy sees it); the start page's
script fills it in. The code goes to the server once, in the body of the start
form, and is exchanged for a session cookie: a code opens its session once
(:class:`improved_gan.turing.store.InvitationUsed` afterwards), and wrong codes
are throttled per client (:mod:`improved_gan.turing.throttle`).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

from improved_gan.errors import ConfigError
from improved_gan.runs.out_rules import check_out_file

LABEL_MAX_LENGTH = 64
"""The longest participant label (the store's column is as wide: turing/schema.py)."""
_LABEL = re.compile(r"[A-Za-z0-9_.\-]{1,%d}" % LABEL_MAX_LENGTH)
MAX_BATCH = 100_000


def check_labels(labels: Sequence[str]) -> list[str]:
    """The labels, stripped, if each is 1-64 of ``[A-Za-z0-9_.-]`` and none repeats."""
    cleaned = [label.strip() for label in labels]
    for line, label in enumerate(cleaned, 1):
        if not _LABEL.fullmatch(label):
            raise ConfigError(f"label {line} ({label[:80]!r}) must be 1-{LABEL_MAX_LENGTH} "
                              "letters, digits, '_', '.' or '-'")
    seen: set[str] = set()
    repeated = [label for label in cleaned if label in seen or seen.add(label)]
    if repeated:
        raise ConfigError(f"label {repeated[0]!r} appears twice; one invitation per participant")
    if len(cleaned) > MAX_BATCH:
        raise ConfigError(f"at most {MAX_BATCH} invitations at a time (got {len(cleaned)})")
    return cleaned


def invitation_labels(n: int | None = None, labels_file: Path | None = None) -> list[str | None]:
    """The labels of the invitations to make: one per line of ``labels_file`` (blank lines skipped, a
    byte-order mark is not a label; :func:`check_labels`), else ``n`` (1 to :data:`MAX_BATCH`) without labels."""
    if labels_file is None:
        if not 1 <= n <= MAX_BATCH:
            raise ConfigError(f"--n must be between 1 and {MAX_BATCH:,} invitations at a time (got {n})")
        return [None] * n
    try:
        text = labels_file.read_text(encoding="utf-8-sig")  # Notepad and Excel begin UTF-8 with a byte-order mark
    except UnicodeDecodeError:
        raise ConfigError(f"--labels {labels_file} is not a UTF-8 text file; give one label per line") from None
    except OSError as err:  # missing, a folder, unreadable: said before the database is opened
        raise ConfigError(f"--labels {labels_file}: {err.strerror or err}; give a text file, one label per "
                          "line") from None
    labels = check_labels([line for line in text.splitlines() if line.strip()])
    if not labels:
        raise ConfigError(f"--labels {labels_file} holds no labels; give one label per line (e.g. participant ids)")
    return labels


def check_invitations_file(path: Path) -> None:
    """``path`` may receive the invitations: a new file, checked before any code is made (codes are shown
    once, so a file replaced, or one that cannot be written, loses seats)."""
    if path.exists() and not path.is_symlink():  # even an earlier table of ours: it holds codes shown once
        raise ConfigError(f"{path} exists; invitation codes are shown once, so choose a new file (nothing was "
                          "written)")
    check_out_file(path, what=".csv file", outside="write the invitations outside it")  # a link: refused


def check_base_url(base_url: str) -> str:
    """``base_url`` if annotators can open links under it: ``http(s)://host[:port][/path]``."""
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range or not a number
    except ValueError as err:
        raise ConfigError(f"--base-url {base_url!r} is not a web address ({err}); "
                          "give the server's address as annotators reach it, e.g. https://study.example.org") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"--base-url {base_url!r} is not an http(s) address without ?query or #fragment; "
                          "give the server's address as annotators reach it, e.g. https://study.example.org")
    return base_url


def invitation_link(base_url: str, slug: str, code: str) -> str:
    """The link that opens a study's start page with ``code`` filled in."""
    return f"{base_url.rstrip('/')}/s/{slug}/#code={code}"


def invitations_csv(base_url: str, slug: str, codes: Sequence[str],
                    labels: Sequence[str | None]) -> str:
    """``label,code,link`` rows, one per invitation."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("label", "code", "link"))
    for code, label in zip(codes, labels):
        writer.writerow((label or "", code, invitation_link(base_url, slug, code)))
    return out.getvalue()


_CODE_IN_QUERY = re.compile(r"(?<=[?&]code=)[^&\s\"]*")


def redact_codes(text: str) -> str:
    """``text`` with the value of every ``code=`` query parameter replaced by ``REDACTED``."""
    return _CODE_IN_QUERY.sub("REDACTED", text)


class RedactCodes(logging.Filter):
    """A log filter that keeps invitation codes out of the server's access log.

    Links put the code after ``#`` (never sent to a server), but an older
    ``?code=`` link, or one typed by hand, still reaches the server: uvicorn's
    access log line (its arguments hold the path with the query) is redacted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_codes(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_codes(record.msg)
        return True


def keep_codes_out_of_access_log(logger_name: str = "uvicorn.access") -> None:
    """Install :class:`RedactCodes` on the access logger once (filters survive uvicorn's log setup)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactCodes) for f in logger.filters):
        logger.addFilter(RedactCodes())
