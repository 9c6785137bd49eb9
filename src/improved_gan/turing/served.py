"""A study as the server holds it, and who a request comes from (annotator, owner).

Cookies are scoped to the study's path (``/s/<slug>/``), ``HttpOnly``, ``Secure``
when the request came over HTTPS, and ``SameSite``: ``Lax`` for annotators (a
link from an e-mail keeps their session), ``Strict`` for the owner.

* ``ig_pre``: a random nonce that binds the start and owner-login forms' CSRF
  tokens before there is a session;
* ``ig_session``: the annotator's token (the store has its hash);
* ``ig_owner``: an expiry time and an HMAC over the owner token's hash and that
  time; rotating the owner token (``improved-gan turing token``) voids it.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, Response

from improved_gan.errors import ConfigError
from improved_gan.turing import security
from improved_gan.turing.config import StudyFolder
from improved_gan.turing.database import SQLITE_FILENAME, default_url
from improved_gan.turing.store import Session, Store, Study

PRE_COOKIE = "ig_pre"
SESSION_COOKIE = "ig_session"
OWNER_COOKIE = "ig_owner"
SESSION_MAX_AGE_S = 30 * 24 * 3600
OWNER_MAX_AGE_S = 12 * 3600
_IMAGE_NAME = re.compile(r"[0-9a-f]{32}")
_OWNER_COOKIE = re.compile(r"(\d{1,12})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class ServedStudy:
    """One study being served: its folder, its store, its row and the names of its images.

    ``study`` is read once at start-up (options and keys never change); the owner
    token's hash is read afresh by :meth:`current_study`, since it can be rotated.
    """

    folder: StudyFolder
    store: Store
    study: Study
    image_names: frozenset[str]

    @classmethod
    def open(
        cls, folder: str | Path, *, database_url: str | None = None, read_only: bool = False,
        stores: str = "vote",
    ) -> "ServedStudy":
        """Open a study folder and its store; a clear error if they do not match.

        ``read_only`` opens a SQLite store without writing (``results`` of an
        archived study); otherwise a store in a folder that cannot be written
        is refused here rather than at the first write, naming what the command
        ``stores`` (a vote, an invitation, an owner token). The study's own
        ``turing.sqlite3`` may not be a symbolic link leading out of the folder
        (SQLite keeps its ``-wal`` and ``-shm`` files beside the file it opens):
        ``--database`` names an outside file explicitly.
        """
        study_folder = StudyFolder(Path(folder).resolve())
        slug = study_folder.options().slug
        sqlite_file = study_folder.root / SQLITE_FILENAME
        if database_url is None and sqlite_file.is_dir():
            raise ConfigError(
                f"{sqlite_file} is a folder, not the study's SQLite store; move it away and put the store back"
            )
        if database_url is None and sqlite_file.is_symlink() and not sqlite_file.exists():
            raise ConfigError(
                f"{sqlite_file} is a symbolic link to {os.readlink(sqlite_file)}, which does not exist; put the "
                "study's store back there (or mount the disk that holds it), or replace the link with the store itself"
            )
        if database_url is None and sqlite_file.is_symlink() and not _inside(sqlite_file.resolve(), study_folder.root):
            raise ConfigError(
                f"{sqlite_file} is a symbolic link to {os.readlink(sqlite_file)}, outside the study folder; a command "
                "writes no file through a link (SQLite would put its -wal and -shm files beside it): replace the link "
                f"with the store itself, or name that file with --database sqlite:///{sqlite_file.resolve()}"
            )
        if database_url is None and not sqlite_file.is_file():
            raise ConfigError(
                f"{study_folder.root} has no {SQLITE_FILENAME}: it was created with an external "
                "database; pass the same --database URL to serve it"
            )
        if database_url is None and not read_only and not (
            os.access(study_folder.root, os.W_OK) and os.access(sqlite_file, os.W_OK)
        ):
            raise ConfigError(
                f"{study_folder.root} or its {SQLITE_FILENAME} is read-only, so no {stores} could be "
                "stored; make it writable (`improved-gan turing results` reads it as it is)"
            )
        store = Store.open(database_url or default_url(study_folder.root), read_only=read_only)
        study = store.study(slug)
        if study is None:
            store.close()
            raise ConfigError(
                f"study {slug!r} of {study_folder.root} is not in its database; if it was "
                "created with --database URL, pass the same URL to serve it"
            )
        names = frozenset(store.image_names(study.id))
        missing = [n for n in names if not study_folder.image_path(n).is_file()]
        if missing:
            store.close()
            raise ConfigError(
                f"{len(missing)} of the study's {len(names)} images are missing from "
                f"{study_folder.images_dir} (e.g. {missing[0]}.png); the folder is incomplete"
            )
        return cls(study_folder, store, study, names)

    @property
    def slug(self) -> str:
        return self.study.slug

    def current_study(self) -> Study:
        """The study's row read now, with the owner token's current hash."""
        study = self.store.study(self.slug)
        if study is None:
            raise HTTPException(status_code=404, detail="This study no longer exists.")
        return study

    @property
    def path(self) -> str:
        return f"/s/{self.slug}/"

    def is_image_name(self, name: str) -> bool:
        return _IMAGE_NAME.fullmatch(name) is not None and name in self.image_names

    # -- cookies ------------------------------------------------------------------

    def set_cookie(
        self, request: Request, response: Response, name: str, value: str, *, max_age: int,
        samesite: str = "lax",
    ) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=self.path, httponly=True,
            secure=request.url.scheme == "https", samesite=samesite,
        )

    def clear_cookie(self, request: Request, response: Response, name: str) -> None:
        response.delete_cookie(name, path=self.path, httponly=True,
                               secure=request.url.scheme == "https")

    # -- annotators ---------------------------------------------------------------

    def session(self, request: Request) -> tuple[Session, str] | None:
        """The annotator's session and its token hash, from the session cookie."""
        token = request.cookies.get(SESSION_COOKIE)
        if not security.is_well_formed_token(token):
            return None
        token_hash = security.hash_token(token)
        session = self.store.session(self.study.id, token_hash)
        return None if session is None else (session, token_hash)

    # -- the owner ----------------------------------------------------------------

    @staticmethod
    def owner_cookie_value(study: Study, *, now: float | None = None) -> str:
        """``<expiry>.<random nonce>.<HMAC>``: each login's cookie differs, so one can be revoked."""
        expires = int((time.time() if now is None else now) + OWNER_MAX_AGE_S)
        nonce = security.new_image_name()  # 128 random bits in hex
        binding = f"{study.owner_token_hash}|{expires}|{nonce}"
        return f"{expires}.{nonce}.{security.sign(study.csrf_key, 'owner', binding)}"

    @staticmethod
    def owner_cookie_valid(study: Study, value: str | None) -> bool:
        match = _OWNER_COOKIE.fullmatch(value or "")
        if match is None or int(match.group(1)) < time.time():
            return False
        binding = f"{study.owner_token_hash}|{match.group(1)}|{match.group(2)}"
        return security.signature_matches(study.csrf_key, "owner", binding, match.group(3))

    def revoke_owner_cookie(self, study: Study, value: str) -> None:
        """Log out: this cookie stops working even if a copy of it is replayed."""
        self.store.revoke_owner_cookie(study.id, _cookie_hash(value))

    def owner_status(self, request: Request, study: Study) -> int:
        """200 for the owner; 401 when no credential came; 403 when a wrong one came.

        The owner is recognised by ``Authorization: Bearer <owner token>`` (scripts)
        or by the cookie that the login form sets (browsers).
        """
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            ok = scheme.lower() == "bearer" and security.tokens_match(
                token.strip(), study.owner_token_hash
            )
            return 200 if ok else 403
        cookie = request.cookies.get(OWNER_COOKIE)
        if cookie is None:
            return 401
        valid = self.owner_cookie_valid(study, cookie) and not self.store.owner_cookie_revoked(
            study.id, _cookie_hash(cookie))
        return 200 if valid else 403


def _cookie_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (resolved) lies in ``folder`` (resolved)."""
    return path == folder or folder in path.parents
