"""The visual Turing test of Section 4: people judge real against generated images.

A study is a folder of images under opaque names plus a store of sessions and
votes (SQLite by default, any SQLAlchemy URL). ``improved-gan turing create``
makes one, ``improved-gan turing serve`` runs the web app (annotator pages,
owner results and exports), ``improved-gan turing results`` prints the
statistics. See docs/turing.md.

Layers, each usable alone: :mod:`~.store` (the database), :mod:`~.sequencing`,
:mod:`~.security`, :mod:`~.stats` and :mod:`~.intervals` (pure), :mod:`~.create`
(arrays to a study folder), :mod:`~.app` (the ASGI app), :mod:`~.server` (uvicorn).
"""

from improved_gan.turing.config import StudyFolder, StudyOptions
from improved_gan.turing.create import CreatedStudy, ImagePool, create_study
from improved_gan.turing.stats import StudyResults, summarize
from improved_gan.turing.store import Store

__all__ = [
    "CreatedStudy",
    "ImagePool",
    "Store",
    "StudyFolder",
    "StudyOptions",
    "StudyResults",
    "create_study",
    "summarize",
]
