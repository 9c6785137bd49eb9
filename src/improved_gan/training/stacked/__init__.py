"""The stacked engine: S seeds of one experiment trained as one batched computation (issue 15).

- :mod:`.state`: :class:`StackedModule`, S copies of a network as ``[S, *shape]``
  tensors, called with ``torch.func.functional_call`` under ``vmap``; copy s back
  out as a ``state_dict`` or a module.
- :mod:`.copies`: :func:`build_copy`, one seed's networks and random streams,
  built as a single run builds them.
- :mod:`.step`: :class:`StackedStep`, the D and G updates of all copies at once,
  with the authors' Adam and the EMA applied to the stacked tensors.
- :mod:`.engine`: :class:`StackedEngine`, the S-seed trainer (batches, noise,
  evaluation, each copy as a single run's checkpoint state).
- :mod:`.support`: what the engine trains, how many copies fit, seeds into stacks.

See docs/stacked.md.
"""

from improved_gan.training.stacked.copies import RunCopy, build_copy
from improved_gan.training.stacked.engine import StackedEngine, copy_configs
from improved_gan.training.stacked.state import StackedModule
from improved_gan.training.stacked.step import StackedStep
from improved_gan.training.stacked.support import check_memory, check_supported, estimate_memory, plan_stacks

__all__ = [
    "RunCopy",
    "StackedEngine",
    "StackedModule",
    "StackedStep",
    "build_copy",
    "check_memory",
    "check_supported",
    "copy_configs",
    "estimate_memory",
    "plan_stacks",
]
