"""The visual Turing test of Section 4: people judge real against generated images.

A study is a folder of images under opaque names plus a store of sessions and
votes (SQLite by default, any SQLAlchemy URL). ``improved-gan turing create``
makes one, ``improved-gan turing serve`` runs the web app (annotator pages,
owner results and exports), ``improved-gan turing results`` prints the
statistics. See docs/turing.md.

Layers, each usable alone: :mod:`~.store` (the database), :mod:`~.sequencing`,
:mod:`~.security`, :mod:`~.stats` and :mod:`~.intervals` (pure), :mod:`~.create`
(arrays to a study folder), :mod:`~.app` (the ASGI app), :mod:`~.server` (uvicorn).
The web libraries are the ``turing`` extra; :func:`require_web_extra` says what to install when they are missing.
"""

import importlib.util

from improved_gan.errors import UserError
from improved_gan.utils.lazy import lazy_names

WEB_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "jinja2", "multipart")
"""What the web app and the store import, by import name: the `turing` extra (pyproject.toml)."""

_HOMES = {
    "CreatedStudy": "create", "ImagePool": "create", "create_study": "create", "Store": "store",
    "StudyFolder": "config", "StudyOptions": "config", "StudyResults": "stats", "summarize": "stats",
}
"""Where each name of the package lives. They are imported on first use (``from improved_gan.turing import
Store``), not with the package: importing a submodule (``turing.invitations``, to check a flag) then costs
only that submodule, not torch and the database (docs/cli.md, Start-up)."""


__getattr__ = lazy_names(__name__, _HOMES)


def require_web_extra() -> None:
    """One line naming the install command when the web extra is missing (the core install lacks it)."""
    missing = [name for name in WEB_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(
            f"the human study needs the web extra ({', '.join(missing)} not installed): "
            "pip install 'improved-gan[turing]'"
        )


__all__ = [
    "CreatedStudy",
    "ImagePool",
    "Store",
    "StudyFolder",
    "StudyOptions",
    "StudyResults",
    "WEB_MODULES",
    "create_study",
    "require_web_extra",
    "summarize",
]
