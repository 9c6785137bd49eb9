"""What defines a study: its options, and the folder that holds it.

A study folder is written once by :func:`improved_gan.turing.create.create_study`::

    STUDY/
      study.json          the options and where the images came from (never served)
      images/<name>.png   every image, under an opaque random name
      turing.sqlite3      the store (votes, sessions, the answer key), unless an
                          external database URL was given

Which image is real lives only in the database: the folder's file names, sizes
and dates say nothing about it. While ``create`` makes it, a hidden
``.STUDY.create-lock/`` beside it holds that process's lock (:func:`creating`).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from improved_gan.errors import ConfigError, UserError
from improved_gan.runs.guard import RunningMark, running_pid
from improved_gan.runs.out_rules import check_out_folder

FEEDBACK_MODES = ("on", "off", "random")
MANIFEST_NAME = "study.json"
IMAGES_DIRNAME = "images"
MANIFEST_FORMAT = 2  # 2: kinds drawn independently, invitations (1: balanced sessions)
MAX_PER_SESSION = 10_000
MAX_ATTENTION_CHECKS = 50
MAX_TUTORIAL = 20
_SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class StudyOptions:
    """How annotators meet a study's images.

    Args:
        slug: the study's name in URLs (``/s/<slug>/``): lower-case letters,
            digits and dashes, at most 64.
        title: the heading annotators see.
        per_session: images each annotator judges; each is generated with
            probability 1/2, independently (Section 6.2's "50% real and 50%
            fake" in expectation; see :mod:`improved_gan.turing.sequencing`).
        feedback: ``"on"`` (after each vote the annotator is told whether it was
            right, the setting in which the paper's annotators learned), ``"off"``,
            or ``"random"`` (each invitation is put in one of the two arms, half
            of each batch in each), so one study measures both.
        attention_checks: attention-check trials added to each session at
            random positions, made from real images taken out of the real
            pool: scrambled ones, which the instructions say to answer
            "Generated", and unchanged ones, "Real" (see
            :mod:`improved_gan.turing.attention`). They are stored with the vote
            as checks and never counted in the accuracy; 0 turns them off.
        attention_max_failures: an annotator who fails more checks than this is
            excluded from every statistic.
        tutorial: practice images shown with their answer before the first
            counted trial (half real, half generated, taken out of the pools
            and never part of a session); 0 turns the tutorial off.
        hype_time: limit each image's exposure by a staircase from 100 to
            1000 ms, each image followed by a mask (HYPE-time; see
            :mod:`improved_gan.turing.hype_time`).
    """

    slug: str
    title: str = "Real or generated?"
    per_session: int = 50
    feedback: str = "random"
    attention_checks: int = 0
    attention_max_failures: int = 1
    tutorial: int = 0
    hype_time: bool = False

    def __post_init__(self) -> None:
        self._check_types()
        if not _SLUG_PATTERN.fullmatch(self.slug):
            raise ConfigError(
                f"study name {self.slug!r} is not usable in a URL: use 1-64 lower-case "
                "letters, digits and dashes, starting with a letter or digit"
            )
        if not self.title.strip() or len(self.title) > 200:
            raise ConfigError(f"study title must have 1-200 characters (got {len(self.title)})")
        if not 1 <= self.per_session <= MAX_PER_SESSION:
            raise ConfigError(
                f"per_session must be between 1 and {MAX_PER_SESSION} images per annotator "
                f"(got {self.per_session})"
            )
        if self.feedback not in FEEDBACK_MODES:
            raise ConfigError(
                f"feedback must be one of {', '.join(FEEDBACK_MODES)} (got {self.feedback!r})"
            )

        if not 0 <= self.attention_checks <= MAX_ATTENTION_CHECKS:
            raise ConfigError(f"attention checks must be between 0 and {MAX_ATTENTION_CHECKS} "
                              f"per session (got {self.attention_checks})")
        if self.attention_max_failures < 0:
            raise ConfigError(f"attention max failures must be >= 0 "
                              f"(got {self.attention_max_failures})")
        if not 0 <= self.tutorial <= MAX_TUTORIAL:
            raise ConfigError(f"tutorial must have between 0 and {MAX_TUTORIAL} practice images "
                              f"(got {self.tutorial})")

    def _check_types(self) -> None:
        """Each field of its own type (a hand-edited study.json may hold "ten" for 10)."""
        for name, kind in _FIELD_TYPES.items():
            value = getattr(self, name)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"study option {name} must be {_TYPE_NAMES[kind]} (got {value!r})")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StudyOptions":
        """The options of a study.json (``ConfigError`` naming what is missing or unknown)."""
        if not isinstance(data, dict):
            raise ConfigError(f"study options must be a JSON object (got {type(data).__name__})")
        missing = [k for k in _REQUIRED if k not in data]
        unknown = sorted(set(data) - set(_FIELD_TYPES))
        if missing or unknown:
            raise ConfigError("study options " + "; ".join(
                part for part in (missing and f"lack {', '.join(missing)}",
                                  unknown and f"hold unknown keys {', '.join(unknown)}") if part))
        return cls(**data)


_REQUIRED = ("slug", "title", "per_session", "feedback")
_FIELD_TYPES = {"slug": str, "title": str, "per_session": int, "feedback": str, "attention_checks": int,
                "attention_max_failures": int, "tutorial": int, "hype_time": bool}
_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false"}


def slug_from_folder(folder: str | Path) -> str:
    """A default study name from a folder name (``runs/CIFAR top_1%`` -> ``cifar-top-1``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(folder).resolve().name.lower()).strip("-")
    return slug[:64] or "study"


def check_planned_sessions(sessions: int) -> int:
    """``sessions``, the annotators the owner means to invite, if at least one: creating a study weighs its
    pools against them (:func:`~improved_gan.turing.create.recurrence_problem`)."""
    if sessions < 1:
        raise ConfigError(f"--sessions must be at least 1 (got {sessions}); it is how many "
                          "annotators you mean to invite")
    return sessions


def check_new_folder(folder: str | Path) -> Path:
    """``folder`` resolved, if a study can be created there: every output rule on the path as given
    (:func:`~improved_gan.runs.out_rules.check_out_folder`: not ``-``, a file nor a symbolic link to nothing, not
    inside a run folder, writable), then, resolved, absent or empty and no other ``create`` making it now
    (:func:`creating`)."""
    # as given: resolving makes "-" a folder of that name and follows a link to nothing to where it leads
    check_out_folder(folder, "the study folder", instead="create the study outside it")
    folder = Path(folder).resolve()
    holder = creator(folder)
    if holder is not None:
        raise ConfigError(_another_create(folder, holder))
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"{folder} already exists and is not empty; choose a new study folder")
    return folder


# -- one create of a study at a time ---------------------------------------------------------------------

CREATE_LOCK = ".{study}.create-lock"
"""The hidden folder beside a study (``{study}``: its folder's name) that holds its create's lock."""


def create_lock(folder: Path) -> Path:
    """The folder whose ``running.pid`` the ``create`` of the study ``folder`` holds locked (:func:`creating`)."""
    return folder.parent / CREATE_LOCK.format(study=folder.name)


def creator(folder: Path) -> int | None:
    """The process that makes the study ``folder`` now (holds its create lock), or None (never this process)."""
    return running_pid(create_lock(folder))


@contextlib.contextmanager
def creating(folder: Path) -> Iterator[None]:
    """Hold the create lock of the study ``folder`` for the block, or refuse in one line (a ConfigError naming
    the process) while another ``create`` holds it.

    The lock is a run's lock (:class:`~improved_gan.runs.guard.RunningMark`: ``running.pid``, ``flock``-ed and
    holding the process id, gone with its process however it ends) in :func:`create_lock`'s folder, which is
    removed after it; one that a killed ``create`` left is locked by nobody, and the next one takes it."""
    lock = create_lock(folder)
    with contextlib.ExitStack() as held:
        held.callback(_remove_if_empty, lock)  # after the lock's release (last in, first out)
        while True:
            lock.mkdir(exist_ok=True)
            try:
                held.enter_context(RunningMark(lock))
                break
            except FileNotFoundError:  # its last holder removed the folder as this one came in: again
                continue
            except UserError:
                raise ConfigError(_another_create(folder, running_pid(lock))) from None
        yield


def _another_create(folder: Path, pid: int | None) -> str:
    who = f"process {pid}" if pid and pid > 0 else "another process"
    return f"another `turing create` is making study {folder} now ({who}); wait for it"


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: another create has come in
        folder.rmdir()


@dataclass(frozen=True)
class StudyFolder:
    """A study folder on disk (see the module docstring)."""

    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES_DIRNAME

    def image_path(self, name: str) -> Path:
        return self.images_dir / f"{name}.png"

    def read_manifest(self) -> dict[str, Any]:
        """The folder's ``study.json``; a clear error if this is not a study folder."""
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except NotADirectoryError:
            raise ConfigError(f"{self.root} is a file, not a study folder; name the folder "
                              "`improved-gan turing create` made") from None
        except FileNotFoundError:
            raise ConfigError(
                f"{self.root} is not a study folder (no {MANIFEST_NAME}); "
                "make one with `improved-gan turing create`"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{self.manifest_path} is not valid JSON ({err})") from None
        if not isinstance(manifest, dict):
            raise ConfigError(f"{self.manifest_path} is not a study's manifest (a JSON "
                              f"{type(manifest).__name__}, not an object); restore it or create the study again")
        if manifest.get("format") == 1:
            raise ConfigError(
                f"{self.root} was made by an earlier version whose sessions were exactly half "
                "generated, which an annotator can exploit by counting; its votes stay in its "
                "database untouched; create a new study to collect votes under this version"
            )
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ConfigError(
                f"{self.manifest_path} has format {manifest.get('format')!r}; this version "
                f"reads format {MANIFEST_FORMAT}"
            )
        return manifest

    def options(self) -> StudyOptions:
        """The study's options; a damaged ``study.json`` is a ConfigError naming the file."""
        manifest = self.read_manifest()  # its own errors name the file already
        try:
            return StudyOptions.from_dict(manifest.get("options"))
        except ConfigError as err:
            raise ConfigError(f"{self.manifest_path}: {err}; restore the file or create the study again") from None


def options_dict(options: StudyOptions) -> dict[str, Any]:
    return asdict(options)
