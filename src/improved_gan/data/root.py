"""Where datasets live on disk: one folder holding ``mnist/``, ``cifar10/``, ``svhn/``."""

from __future__ import annotations

import os
from pathlib import Path

from improved_gan.errors import UserError

DATA_ROOT_ENV = "IMPROVED_GAN_DATA"
"""Environment variable naming the data root when no ``--data-dir`` is given."""

DEFAULT_DATA_ROOT = Path("~/.cache/improved-gan/data")
"""The data root when neither an argument nor ``IMPROVED_GAN_DATA`` names one."""


def resolve_data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root, as an absolute path.

    Precedence: the ``root`` argument (``--data-dir`` on the command line), else
    the environment variable ``IMPROVED_GAN_DATA`` (an empty value counts as
    unset), else ``~/.cache/improved-gan/data``. The folder need not exist yet:
    downloads create it.
    """
    if root is not None:
        if str(root) == "":
            raise UserError("the data directory is an empty string; give a folder path (--data-dir DIR)")
        return Path(root).expanduser().absolute()
    from_env = os.environ.get(DATA_ROOT_ENV, "")
    if from_env:
        return Path(from_env).expanduser().absolute()
    return DEFAULT_DATA_ROOT.expanduser().absolute()
