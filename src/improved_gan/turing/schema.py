"""The study store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

::

    studies   one row per study: its options, its CSRF key, the hash of the owner's token
    images    the study's images: opaque file name, real or generated, where it came from
    sessions  one row per annotator: hash of their token, feedback arm, progress
    trials    an annotator's sequence, one row per position; the vote fills ``said_generated``
    invitations  one row per person the owner invited: hash of the code, feedback arm,
              the session it opened (at most one)
    owner_logouts  owner cookies revoked by "Log out" before they expire
    attention  a study's attention-check settings (checks per session, failures allowed)
    attention_images  the study's attention-check images (answer known by design: generated)
    hype_time  studies whose exposures are limited (HYPE-time)
    exposures  per answered trial of a HYPE-time study: requested and displayed exposure (ms)
    timing     per trial of a HYPE-time study, by the server's clock: when its image was served,
               how often it was asked for, when the vote came, and why the vote is not counted
    tutorial_images   the study's practice images, shown with their answer before the study
                      and never part of a session's sequence

A vote is an ``UPDATE`` of one ``trials`` row, so the database itself holds the
rules: ``(session_id, position)`` is the key, ``(session_id, image_id)`` is unique
(no image twice for one annotator), and an answered row is never answered again.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from improved_gan.turing.invitations import LABEL_MAX_LENGTH  # the label rule's length

SCHEMA_VERSION = 4  # 2: invitations, owner logouts; 3: attention checks, tutorial; 4: timing
# (each version adds tables only, so an older store opens and gains the new ones)
TOKEN_HASH_LENGTH = 64  # hex SHA-256
IMAGE_NAME_LENGTH = 32

metadata = MetaData()

studies = Table(
    "turing_studies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("feedback_mode", String(8), nullable=False),  # "on" | "off" | "random"
    Column("per_session", Integer, nullable=False),
    Column("image_height", Integer, nullable=False),
    Column("image_width", Integer, nullable=False),
    Column("image_channels", Integer, nullable=False),
    Column("csrf_key", String(64), nullable=False),  # hex, 32 random bytes
    Column("owner_token_hash", String(TOKEN_HASH_LENGTH), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

images = Table(
    "turing_images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_id", Integer, ForeignKey("turing_studies.id"), nullable=False),
    Column("name", String(IMAGE_NAME_LENGTH), nullable=False, unique=True),
    Column("is_generated", Boolean, nullable=False),
    Column("origin", String(300), nullable=False),  # e.g. "cifar10[4127]"; owner-only
    Column("score", Float, nullable=True),  # the selection score, when one was used
    Index("ix_turing_images_study", "study_id", "is_generated"),
)

sessions = Table(
    "turing_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_id", Integer, ForeignKey("turing_studies.id"), nullable=False),
    Column("token_hash", String(TOKEN_HASH_LENGTH), nullable=False, unique=True),
    Column("label", String(LABEL_MAX_LENGTH), nullable=True),  # participant code, optional
    Column("feedback", Boolean, nullable=False),
    Column("n_trials", Integer, nullable=False),
    Column("next_position", Integer, nullable=False),  # == n_trials once finished
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_turing_sessions_study", "study_id"),
)

trials = Table(
    "turing_trials",
    metadata,
    Column("session_id", Integer, ForeignKey("turing_sessions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("image_id", Integer, ForeignKey("turing_images.id"), nullable=False),
    Column("said_generated", Boolean, nullable=True),  # NULL until the vote
    Column("answered_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("session_id", "position"),
    UniqueConstraint("session_id", "image_id", name="uq_turing_trials_session_image"),
    Index("ix_turing_trials_image", "image_id"),
)

invitations = Table(
    "turing_invitations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_id", Integer, ForeignKey("turing_studies.id"), nullable=False),
    Column("code_hash", String(TOKEN_HASH_LENGTH), nullable=False, unique=True),
    Column("label", String(LABEL_MAX_LENGTH), nullable=True),  # e.g. a platform's participant id
    Column("feedback", Boolean, nullable=False),  # the arm, fixed when the code is made
    Column("session_id", Integer, ForeignKey("turing_sessions.id"), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_turing_invitations_study", "study_id"),
)

owner_logouts = Table(
    "turing_owner_logouts",
    metadata,
    Column("study_id", Integer, ForeignKey("turing_studies.id"), nullable=False),
    Column("cookie_hash", String(TOKEN_HASH_LENGTH), nullable=False),  # SHA-256 of the cookie
    PrimaryKeyConstraint("study_id", "cookie_hash"),
)

attention = Table(
    "turing_attention",
    metadata,
    Column("study_id", Integer, ForeignKey("turing_studies.id"), primary_key=True),
    Column("checks", Integer, nullable=False),  # attention trials per session
    Column("max_failures", Integer, nullable=False),  # more failed checks exclude an annotator
)

attention_images = Table(
    "turing_attention_images",
    metadata,
    Column("image_id", Integer, ForeignKey("turing_images.id"), primary_key=True),
    Column("study_id", Integer, ForeignKey("turing_studies.id"), nullable=False),
    Index("ix_turing_attention_images_study", "study_id"),
)

tutorial_images = Table(
    "turing_tutorial_images",
    metadata,
    Column("image_id", Integer, ForeignKey("turing_images.id"), primary_key=True),
    Column("study_id", Integer, ForeignKey("turing_studies.id"), nullable=False),
    Column("rank", Integer, nullable=False),  # the order in which the tutorial shows them
    Index("ix_turing_tutorial_images_study", "study_id"),
)

hype_time = Table(
    "turing_hype_time",
    metadata,
    Column("study_id", Integer, ForeignKey("turing_studies.id"), primary_key=True),
)

exposures = Table(
    "turing_exposures",
    metadata,
    Column("session_id", Integer, ForeignKey("turing_sessions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("requested_ms", Integer, nullable=False),  # the staircase's exposure
    Column("displayed_ms", Float, nullable=True),  # measured by the browser; NULL without script
    PrimaryKeyConstraint("session_id", "position"),
)

timing = Table(
    "turing_timing",
    metadata,
    Column("session_id", Integer, ForeignKey("turing_sessions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("served_at", Float, nullable=True),  # server clock (s) of the image's first fetch
    Column("fetches", Integer, nullable=False),  # requests for the image while the trial was open
    Column("voted_at", Float, nullable=True),  # server clock (s) when the vote arrived
    Column("problem", String(80), nullable=True),  # why the vote is not counted; NULL: counted
    PrimaryKeyConstraint("session_id", "position"),
)
