"""``with eval_mode(model): ...``: a module in evaluation mode, its previous mode restored after."""

from __future__ import annotations

import contextlib
from typing import Iterator

from torch import nn


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Switch ``modules`` to ``eval()`` (noise and dropout off, batch statistics frozen) for the block,
    then give each back the mode it had, even when the block raises.

    Example::

        >>> net = nn.Dropout(0.5)
        >>> with eval_mode(net):
        ...     net.training
        False
        >>> net.training
        True
    """
    was_training = [module.training for module in modules]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for module, mode in zip(modules, was_training):
            module.train(mode)
