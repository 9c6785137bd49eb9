"""The study store: every read and write of the human study, over SQLAlchemy Core.

One :class:`Store` wraps one database (a SQLite file or a server URL) and may
hold several studies. The web app, the command line and the benchmark all go
through it; nothing else touches the tables.

A vote is recorded by :meth:`Store.record_vote` in one transaction that moves
the session's ``next_position`` from ``p`` to ``p + 1`` only if it still is
``p`` (compare-and-set), then fills trial ``p``. A repeated submit (a retry, a
double click, a replayed request) finds the position already passed and
changes nothing: it is answered with the vote stored the first time.
"""

from __future__ import annotations

import enum
import random
import threading
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL

from improved_gan.errors import ConfigError
from improved_gan.turing import schema, security
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.database import open_engine, write_engine
from improved_gan.turing.attention import insert_checks
from improved_gan.turing.sequencing import _system_random, arm_images, assign_arms, draw_sequence
from improved_gan.utils.signals import stop_signals_deferred

S, I, A, T = schema.studies, schema.images, schema.sessions, schema.trials
V, L = schema.invitations, schema.owner_logouts
ATT, AI, TI = schema.attention, schema.attention_images, schema.tutorial_images
HT, EX, TM = schema.hype_time, schema.exposures, schema.timing
ROLES = ("study", "attention", "tutorial")


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Study:
    id: int
    options: StudyOptions
    image_shape: tuple[int, int, int]  # (H, W, C)
    csrf_key: str
    owner_token_hash: str
    created_at: datetime

    @property
    def slug(self) -> str:
        return self.options.slug


@dataclass(frozen=True)
class NewImage:
    """An image to register: its opaque file name, its kind and its provenance."""

    name: str
    is_generated: bool
    origin: str
    score: float | None = None
    role: str = "study"  # "attention": a check; "tutorial": a practice image (ROLES)


@dataclass(frozen=True)
class ImageRow:
    id: int
    name: str
    is_generated: bool
    origin: str
    score: float | None


@dataclass(frozen=True)
class Session:
    """An annotator: their feedback arm and how far they have come."""

    id: int
    label: str | None
    feedback: bool
    n_trials: int
    next_position: int
    created_at: datetime

    @property
    def finished(self) -> bool:
        return self.next_position >= self.n_trials


@dataclass(frozen=True)
class Trial:
    """The current trial: its position and the image's file name (the server's own: the
    page shows the image under a per-session token, :func:`~improved_gan.turing.security.image_token`)."""

    position: int
    image_name: str
    n_trials: int


@dataclass(frozen=True)
class AnsweredTrial:
    position: int
    image_name: str
    said_generated: bool
    is_generated: bool

    @property
    def correct(self) -> bool:
        return self.said_generated == self.is_generated


class VoteStatus(enum.Enum):
    RECORDED = "recorded"  # this request stored the vote
    REPLAYED = "replayed"  # the position was answered before; nothing changed
    OUT_OF_ORDER = "out_of_order"  # an earlier position is still unanswered
    NO_SUCH_POSITION = "no_such_position"


@dataclass(frozen=True)
class VoteResult:
    status: VoteStatus
    trial: AnsweredTrial | None  # the stored vote (None for the two refusals)


@dataclass(frozen=True)
class VoteRow:
    """One stored vote with everything the statistics and the export need."""

    session_id: int
    label: str | None
    feedback: bool
    position: int
    n_trials: int
    image_id: int
    image_name: str
    is_generated: bool
    origin: str
    score: float | None
    said_generated: bool
    answered_at: datetime
    attention: bool = False  # an attention check: never counted in the accuracy
    timing_problem: str | None = None  # HYPE-time: why the vote is not counted (timing.PROBLEMS)

    @property
    def correct(self) -> bool:
        return self.said_generated == self.is_generated


class InvitationUsed(Exception):
    """The invitation's session was opened before, in some browser: a code opens one session once."""


class Store:
    """All reads and writes of studies, sessions and votes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = write_engine(engine)
        # SQLite takes one writer at a time; threads of this process queue on a
        # lock instead of in SQLite's busy handler, which polls with growing
        # sleeps and lets some writers wait seconds (other processes still
        # meet the busy handler).
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        self._timing_table: bool | None = None  # a read-only store of an older version lacks it

    @classmethod
    def open(cls, url: str | URL, *, create: bool = True, read_only: bool = False) -> "Store":
        """Connect to ``url``; with ``create``, make the tables that are missing.

        ``read_only`` opens a SQLite file without writing to it (not even its
        journal), so an archived study on a read-only disk can be read. Without
        ``create`` a SQLite file must already exist (none is made).
        """
        store = cls(open_engine(url, read_only=read_only, must_exist=not create))
        if create and not read_only:
            store.create_schema()
        return store

    def ping(self) -> None:
        """A round trip to the database (raises if it cannot answer)."""
        with self._read() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def create_schema(self) -> None:
        schema.metadata.create_all(self._writer)

    def _has_timing(self) -> bool:
        """Whether the store holds ``turing_timing`` (a store of schema 3, opened read-only, does not)."""
        if self._timing_table is None:
            self._timing_table = inspect(self.engine).has_table(TM.name)
        return self._timing_table

    def close(self) -> None:
        """Close the connections, a stop signal held until they are closed: SQLAlchemy logs one raised inside a
        connection's close as an error with its traceback (printed before the command's one line)."""
        with stop_signals_deferred():
            self.engine.dispose()

    @contextmanager
    def _write(self, before_commit: Callable[[], None] | None = None) -> Iterator[Connection]:
        """One transaction; ``before_commit`` runs once the block's writes are done, just before the commit (a
        command that shows what it writes holds the stop signals from there: the commit and the output are one
        step, while the writes before can still be stopped and rolled back)."""
        with self._write_lock, self._writer.begin() as conn:
            yield conn
            if before_commit is not None:
                before_commit()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # -- studies ------------------------------------------------------------------

    def add_study(
        self,
        options: StudyOptions,
        *,
        image_shape: tuple[int, int, int],
        images: Sequence[NewImage],
        csrf_key: str,
        owner_token_hash: str,
    ) -> Study:
        """Register a study and its images in one transaction."""
        with self._write() as conn:
            study_id = conn.execute(
                insert(S).values(
                    slug=options.slug,
                    title=options.title,
                    feedback_mode=options.feedback,
                    per_session=options.per_session,
                    image_height=image_shape[0],
                    image_width=image_shape[1],
                    image_channels=image_shape[2],
                    csrf_key=csrf_key,
                    owner_token_hash=owner_token_hash,
                    created_at=_now(),
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(I),
                [
                    dict(study_id=study_id, name=im.name, is_generated=im.is_generated,
                         origin=im.origin, score=im.score)
                    for im in images
                ],
            )
            ids = dict(conn.execute(select(I.c.name, I.c.id).where(I.c.study_id == study_id)).all())
            checks = [im for im in images if im.role == "attention"]
            practice = [im for im in images if im.role == "tutorial"]
            if options.hype_time:
                conn.execute(insert(HT).values(study_id=study_id))
            if options.attention_checks:
                conn.execute(insert(ATT).values(study_id=study_id, checks=len(checks),
                                                max_failures=options.attention_max_failures))
            if checks:
                conn.execute(insert(AI), [dict(image_id=ids[im.name], study_id=study_id)
                                          for im in checks])
            if practice:
                conn.execute(insert(TI), [dict(image_id=ids[im.name], study_id=study_id, rank=r)
                                          for r, im in enumerate(practice)])
        study = self.study(options.slug)
        assert study is not None
        return study

    def study(self, slug: str) -> Study | None:
        with self._read() as conn:
            row = conn.execute(select(S).where(S.c.slug == slug)).one_or_none()
            if row is None:
                return None
            checks = conn.execute(select(ATT).where(ATT.c.study_id == row.id)).one_or_none()
            tutorial = conn.execute(
                select(func.count()).select_from(TI).where(TI.c.study_id == row.id)).scalar_one()
            timed = conn.execute(select(HT.c.study_id).where(HT.c.study_id == row.id)).one_or_none()
        options = StudyOptions(
            slug=row.slug, title=row.title, per_session=row.per_session, feedback=row.feedback_mode,
            attention_checks=checks.checks if checks else 0,
            attention_max_failures=checks.max_failures if checks else 1,
            tutorial=int(tutorial),
            hype_time=timed is not None,
        )
        return Study(
            id=row.id,
            options=options,
            image_shape=(row.image_height, row.image_width, row.image_channels),
            csrf_key=row.csrf_key,
            owner_token_hash=row.owner_token_hash,
            created_at=_utc(row.created_at),
        )

    def named_study(self, slug: str) -> Study:
        """The study named ``slug`` (:meth:`study`); a ConfigError when this database holds none."""
        study = self.study(slug)
        if study is None:
            raise ConfigError(f"the database holds no study named {slug!r}")
        return study

    def set_owner_token_hash(self, study_id: int, token_hash: str, *,
                             before_commit: Callable[[], None] | None = None) -> None:
        with self._write(before_commit) as conn:
            conn.execute(update(S).where(S.c.id == study_id).values(owner_token_hash=token_hash))

    def remove_study(self, study_id: int, *, before_commit: Callable[[], None] | None = None) -> None:
        """Delete a study's rows (votes, sessions, invitations, images, the study) in one go; ``before_commit``:
        :meth:`_write`'s."""
        sessions = select(A.c.id).where(A.c.study_id == study_id).scalar_subquery()
        with self._write(before_commit) as conn:
            conn.execute(delete(EX).where(EX.c.session_id.in_(sessions)))
            conn.execute(delete(TM).where(TM.c.session_id.in_(sessions)))
            conn.execute(delete(HT).where(HT.c.study_id == study_id))
            conn.execute(delete(T).where(T.c.session_id.in_(sessions)))
            conn.execute(delete(AI).where(AI.c.study_id == study_id))
            conn.execute(delete(TI).where(TI.c.study_id == study_id))
            conn.execute(delete(ATT).where(ATT.c.study_id == study_id))
            conn.execute(delete(V).where(V.c.study_id == study_id))
            conn.execute(delete(A).where(A.c.study_id == study_id))
            conn.execute(delete(I).where(I.c.study_id == study_id))
            conn.execute(delete(L).where(L.c.study_id == study_id))
            conn.execute(delete(S).where(S.c.id == study_id))

    def revoke_owner_cookie(self, study_id: int, cookie_hash: str) -> None:
        """Remember a logged-out owner cookie, so it no longer opens the results."""
        with self._write() as conn:
            known = conn.execute(select(L.c.cookie_hash).where(
                L.c.study_id == study_id, L.c.cookie_hash == cookie_hash)).one_or_none()
            if known is None:
                conn.execute(insert(L).values(study_id=study_id, cookie_hash=cookie_hash))

    def owner_cookie_revoked(self, study_id: int, cookie_hash: str) -> bool:
        with self._read() as conn:
            return conn.execute(select(L.c.cookie_hash).where(
                L.c.study_id == study_id, L.c.cookie_hash == cookie_hash)).one_or_none() is not None

    def images(self, study_id: int) -> list[ImageRow]:
        """The study's counted images (not its attention checks or practice images)."""
        with self._read() as conn:
            rows = conn.execute(
                select(I).where(I.c.study_id == study_id, I.c.id.not_in(select(AI.c.image_id)),
                                I.c.id.not_in(select(TI.c.image_id)))
                .order_by(I.c.id)).all()
        return [ImageRow(r.id, r.name, r.is_generated, r.origin, r.score) for r in rows]

    def image_names(self, study_id: int) -> list[str]:
        """The file names of every image of the study, checks and practice images included."""
        with self._read() as conn:
            return list(conn.execute(select(I.c.name).where(I.c.study_id == study_id)).scalars())

    def tutorial_images(self, study_id: int) -> list[tuple[str, bool]]:
        """The practice images ``(name, is_generated)``, in the tutorial's order."""
        with self._read() as conn:
            rows = conn.execute(
                select(I.c.name, I.c.is_generated).join(TI, TI.c.image_id == I.c.id)
                .where(TI.c.study_id == study_id).order_by(TI.c.rank)).all()
        return [(r.name, r.is_generated) for r in rows]

    # -- sessions -----------------------------------------------------------------

    def add_invitations(
        self, study: Study, labels: Sequence[str | None], *, codes: Sequence[str] | None = None,
        rng: random.Random | None = None, before_commit: Callable[[], None] | None = None,
    ) -> list[str]:
        """One invitation code per label (None: unlabelled), arms fixed now; returns the codes.

        The codes are shown once; the store keeps their SHA-256. ``codes`` (one per label) are made by a caller
        that shows them before they are stored (``turing invite --out`` writes its file first: a full disk then
        loses no seat); else new ones. ``before_commit``: :meth:`_write`'s.
        """
        codes = list(codes) if codes is not None else [security.new_token() for _ in labels]
        arms = assign_arms(study.options.feedback, len(labels), rng)
        created_at = _now()
        with self._write(before_commit) as conn:
            conn.execute(insert(V), [
                dict(study_id=study.id, code_hash=security.hash_token(code), label=label,
                     feedback=arm, created_at=created_at)
                for code, label, arm in zip(codes, labels, arms)
            ])
        return codes

    def invitation_counts(self, study_id: int) -> tuple[int, int]:
        """``(invitations, of them used)`` of a study."""
        with self._read() as conn:
            row = conn.execute(
                select(func.count(), func.count(V.c.session_id)).where(V.c.study_id == study_id)
            ).one()
        return int(row[0]), int(row[1])

    def claim_invitation(
        self, study: Study, code_hash: str, *, token_hash: str, rng: random.Random | None = None
    ) -> Session | None:
        """The session an invitation opens, with this browser's token; None for a wrong code.

        The first claim starts the session (arm and label from the invitation)
        and the code is spent: the session lives on in that browser's cookie.
        A later claim raises :class:`InvitationUsed`, so a code seen by someone
        else (a log, a shared screen) cannot take an annotator's session over,
        and nobody gets a second sequence from one invitation.
        """
        with self._write() as conn:
            invitation = conn.execute(
                select(V).where(V.c.study_id == study.id, V.c.code_hash == code_hash)
            ).one_or_none()
            if invitation is None:
                return None
            if invitation.session_id is not None:
                raise InvitationUsed(invitation.session_id)
            session = self._new_session(conn, study, token_hash=token_hash,
                                        label=invitation.label, feedback=invitation.feedback,
                                        rng=rng)
            conn.execute(update(V).where(V.c.id == invitation.id).values(session_id=session.id))
        return session

    @staticmethod
    def _new_session(
        conn: Connection, study: Study, *, token_hash: str, label: str | None, feedback: bool,
        rng: random.Random | None,
    ) -> Session:
        """A new annotator's sequence (kinds drawn independently), in the caller's transaction."""
        checks = set(conn.execute(select(AI.c.image_id).where(AI.c.study_id == study.id)).scalars())
        practice = set(conn.execute(select(TI.c.image_id).where(TI.c.study_id == study.id)).scalars())
        kinds = conn.execute(select(I.c.id, I.c.is_generated).where(I.c.study_id == study.id))
        real_ids, generated_ids = [], []
        for image_id, is_generated in kinds:
            if image_id not in checks and image_id not in practice:
                (generated_ids if is_generated else real_ids).append(image_id)
        if study.options.feedback == "random":  # each arm its own images
            real_ids, generated_ids = (
                arm_images(ids, feedback, key_hex=study.csrf_key, per_session=study.options.per_session)
                for ids in (real_ids, generated_ids))
        exposures = dict(
            conn.execute(
                select(T.c.image_id, func.count())
                .join(I, I.c.id == T.c.image_id)
                .where(I.c.study_id == study.id)
                .group_by(T.c.image_id)
            ).all()
        )
        sequence = draw_sequence(real_ids, generated_ids, per_session=study.options.per_session,
                                 exposures=exposures, rng=rng)
        if checks:
            sequence = insert_checks(sequence, sorted(checks), rng or _system_random)
        created_at = _now()
        session_id = conn.execute(
            insert(A).values(
                study_id=study.id, token_hash=token_hash, label=label, feedback=feedback,
                n_trials=len(sequence), next_position=0, created_at=created_at,
            )
        ).inserted_primary_key[0]
        conn.execute(insert(T), [
            dict(session_id=session_id, position=p, image_id=image_id)
            for p, image_id in enumerate(sequence)
        ])
        return Session(session_id, label, feedback, len(sequence), 0, created_at)

    def session(self, study_id: int, token_hash: str) -> Session | None:
        """The session holding this token hash in this study, if any."""
        with self._read() as conn:
            row = conn.execute(
                select(A).where(A.c.study_id == study_id, A.c.token_hash == token_hash)
            ).one_or_none()
        if row is None:
            return None
        return Session(row.id, row.label, row.feedback, row.n_trials, row.next_position,
                       _utc(row.created_at))

    def trial_image_name(self, session_id: int, position: int) -> str | None:
        """The file name of the image at ``position`` of a session (the server's, never shown)."""
        with self._read() as conn:
            return conn.execute(
                select(I.c.name).join(T, T.c.image_id == I.c.id)
                .where(T.c.session_id == session_id, T.c.position == position)).scalar_one_or_none()

    def record_fetch(self, session_id: int, position: int, at: float) -> int:
        """Count a request for the image of a timed trial; the first sets ``served_at``.

        Returns how many requests there have been, this one included (only the
        first may be answered with the image).
        """
        with self._write() as conn:
            fetches = conn.execute(select(TM.c.fetches).where(
                TM.c.session_id == session_id, TM.c.position == position)).scalar_one_or_none()
            if fetches is None:
                conn.execute(insert(TM).values(session_id=session_id, position=position,
                                               served_at=at, fetches=1))
                return 1
            conn.execute(update(TM).where(TM.c.session_id == session_id, TM.c.position == position)
                         .values(fetches=fetches + 1))
            return fetches + 1

    def serving(self, session_id: int, position: int) -> tuple[float | None, int]:
        """``(served_at, fetches)`` of a timed trial's image (``(None, 0)`` if never fetched)."""
        with self._read() as conn:
            row = conn.execute(select(TM.c.served_at, TM.c.fetches).where(
                TM.c.session_id == session_id, TM.c.position == position)).one_or_none()
        return (None, 0) if row is None else (row.served_at, row.fetches)

    def current_trial(self, session_id: int) -> Trial | None:
        """The first unanswered trial, or None when the session is finished."""
        with self._read() as conn:
            row = conn.execute(
                select(T.c.position, I.c.name, A.c.n_trials)
                .join(A, A.c.id == T.c.session_id)
                .join(I, I.c.id == T.c.image_id)
                .where(T.c.session_id == session_id, T.c.position == A.c.next_position)
            ).one_or_none()
        return None if row is None else Trial(row.position, row.name, row.n_trials)

    # -- votes --------------------------------------------------------------------

    def record_vote(
        self, session_id: int, position: int, *, said_generated: bool,
        exposure: tuple[int, float | None] | None = None,
        timing: tuple[float, str | None] | None = None,
    ) -> VoteResult:
        """Store the vote for ``position`` once; a repeat returns the first vote unchanged.

        ``exposure``: ``(requested ms, displayed ms or None)`` of a HYPE-time
        trial, stored with the vote in the same transaction; ``timing``:
        ``(the server's clock at the vote, the timing problem or None)``
        (:mod:`improved_gan.turing.timing`).
        """
        with self._write() as conn:
            advanced = conn.execute(
                update(A)
                .where(
                    A.c.id == session_id,
                    A.c.next_position == position,
                    A.c.n_trials > position,
                )
                .values(next_position=position + 1)
            ).rowcount
            if advanced:
                filled = conn.execute(
                    update(T)
                    .where(
                        T.c.session_id == session_id,
                        T.c.position == position,
                        T.c.said_generated.is_(None),
                    )
                    .values(said_generated=said_generated, answered_at=_now())
                ).rowcount
                if filled != 1:  # the schema's invariant: positions before next are answered
                    raise RuntimeError(f"trial {position} of session {session_id} was not open")
                if exposure is not None:
                    conn.execute(insert(EX).values(session_id=session_id, position=position,
                                                   requested_ms=exposure[0],
                                                   displayed_ms=exposure[1]))
                if timing is not None:
                    self._record_timing(conn, session_id, position, *timing)
            trial = self._answered(conn, session_id, position)
        if advanced:
            return VoteResult(VoteStatus.RECORDED, trial)
        if trial is not None:
            return VoteResult(VoteStatus.REPLAYED, trial)
        with self._read() as conn:
            exists = conn.execute(
                select(T.c.position).where(T.c.session_id == session_id, T.c.position == position)
            ).one_or_none()
        status = VoteStatus.OUT_OF_ORDER if exists else VoteStatus.NO_SUCH_POSITION
        return VoteResult(status, None)

    @staticmethod
    def _record_timing(conn: Connection, session_id: int, position: int, voted_at: float,
                       problem: str | None) -> None:
        where = (TM.c.session_id == session_id) & (TM.c.position == position)
        if conn.execute(update(TM).where(where).values(voted_at=voted_at, problem=problem)).rowcount:
            return
        conn.execute(insert(TM).values(session_id=session_id, position=position, served_at=None,
                                       fetches=0, voted_at=voted_at, problem=problem))

    def answered_trial(self, session_id: int, position: int) -> AnsweredTrial | None:
        """A trial with its vote and the truth, only once it has been answered."""
        with self._read() as conn:
            return self._answered(conn, session_id, position)

    @staticmethod
    def _answered(conn: Connection, session_id: int, position: int) -> AnsweredTrial | None:
        row = conn.execute(
            select(T.c.said_generated, I.c.name, I.c.is_generated)
            .join(I, I.c.id == T.c.image_id)
            .where(
                T.c.session_id == session_id,
                T.c.position == position,
                T.c.said_generated.is_not(None),
            )
        ).one_or_none()
        if row is None:
            return None
        return AnsweredTrial(position, row.name, row.said_generated, row.is_generated)

    def session_votes(self, session_id: int) -> list[AnsweredTrial]:
        """One annotator's answered trials, in order, without the attention checks."""
        with self._read() as conn:
            rows = conn.execute(
                select(T.c.position, I.c.name, T.c.said_generated, I.c.is_generated)
                .join(I, I.c.id == T.c.image_id)
                .where(T.c.session_id == session_id, T.c.said_generated.is_not(None),
                       T.c.image_id.not_in(select(AI.c.image_id)))
                .order_by(T.c.position)
            ).all()
        return [AnsweredTrial(*row) for row in rows]

    def votes(self, study_id: int) -> list[VoteRow]:
        """Every stored vote of a study, by session then position; ``attention`` marks checks,
        ``timing_problem`` the HYPE-time votes whose timing is not counted."""
        timed = self._has_timing()
        query = (
            select(
                T.c.session_id, A.c.label, A.c.feedback, T.c.position, A.c.n_trials,
                I.c.id, I.c.name, I.c.is_generated, I.c.origin, I.c.score,
                T.c.said_generated, T.c.answered_at, AI.c.image_id.is_not(None),
                TM.c.problem if timed else literal_column("NULL"),
            )
            .join(A, A.c.id == T.c.session_id)
            .join(I, I.c.id == T.c.image_id)
            .outerjoin(AI, AI.c.image_id == T.c.image_id)
            .where(A.c.study_id == study_id, T.c.said_generated.is_not(None))
            .order_by(T.c.session_id, T.c.position)
        )
        if timed:
            query = query.outerjoin(TM, (TM.c.session_id == T.c.session_id)
                                    & (TM.c.position == T.c.position))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [VoteRow(*row[:-3], _utc(row[-3]), bool(row[-2]), row[-1]) for row in rows]

    def session_history(self, session_id: int) -> list[bool]:
        """Whether each answered trial of a session was right, in order (checks included)."""
        with self._read() as conn:
            rows = conn.execute(
                select(T.c.said_generated, I.c.is_generated).join(I, I.c.id == T.c.image_id)
                .where(T.c.session_id == session_id, T.c.said_generated.is_not(None))
                .order_by(T.c.position)).all()
        return [r.said_generated == r.is_generated for r in rows]

    def exposures(self, study_id: int) -> list[tuple]:
        """``(session, position, requested ms, displayed ms, served_at, voted_at, problem)`` of a
        study's timed trials, attention checks left out (the last three None where the
        server's clock was not kept: votes stored by an earlier version)."""
        timed = self._has_timing()
        clock = (TM.c.served_at, TM.c.voted_at, TM.c.problem) if timed else (
            literal_column("NULL"), literal_column("NULL"), literal_column("NULL"))
        query = (select(EX.c.session_id, EX.c.position, EX.c.requested_ms, EX.c.displayed_ms, *clock)
                 .join(A, A.c.id == EX.c.session_id)
                 .join(T, (T.c.session_id == EX.c.session_id) & (T.c.position == EX.c.position))
                 .where(A.c.study_id == study_id, T.c.image_id.not_in(select(AI.c.image_id)))
                 .order_by(EX.c.session_id, EX.c.position))
        if timed:
            query = query.outerjoin(TM, (TM.c.session_id == EX.c.session_id)
                                    & (TM.c.position == EX.c.position))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [tuple(r) for r in rows]

    def session_count(self, study_id: int) -> int:
        with self._read() as conn:
            return conn.execute(
                select(func.count()).select_from(A).where(A.c.study_id == study_id)
            ).scalar_one()
