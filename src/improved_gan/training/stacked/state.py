"""S copies of one network as stacked tensors, called with ``torch.func``.

:func:`torch.func.stack_module_state` turns S modules of one architecture into
one ``[S, *shape]`` tensor per parameter and buffer; :class:`StackedModule`
keeps those tensors (the parameters as leaves the optimiser updates, the
buffers, e.g. weight norm's frozen scales ``weight_g``, as plain tensors) and
a storage-free template of the architecture on the ``meta`` device. A forward
pass of every copy is one :func:`torch.func.functional_call` of the template
under :func:`torch.func.vmap`, so the networks themselves stay single-sourced
in :mod:`improved_gan.models`: nothing here restates a layer.

Copy ``s`` can be read back as an ordinary ``state_dict`` (:meth:`StackedModule.copy_state`,
the keys and shapes of ``module.state_dict()``) or as a module (:meth:`StackedModule.unstack`).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

__all__ = ["StackedModule"]


class StackedModule:
    """S copies of one module, stored as stacked tensors (``[S, *shape]`` each).

    Args:
        modules: S >= 1 modules with the same architecture (same parameter and buffer
            names and shapes); their values become copy 0..S-1. The modules
            themselves are not kept.

    Attributes:
        template: a copy of ``modules[0]`` on the ``meta`` device (no storage), the
            function :meth:`functional` calls; its mode (train/eval) is the mode of
            every call.
        names: parameter names in ``named_parameters()`` order, which is the order of
            :attr:`params` and of a single module's ``parameters()`` (so optimiser and
            EMA state line up with a single run's).
        params: ``nn.ParameterList`` of the stacked parameters ``[S, *shape]``, the
            leaves that gradients reach and the optimiser updates.
        buffer_names, buffers: the stacked buffers ``[S, *shape]`` (never trained).

    Example::

        >>> stacked = StackedModule([MNISTGenerator() for _ in range(4)])
        >>> stacked(torch.rand(4, 100, 100)).shape         # vmap over the copies
        torch.Size([4, 100, 1, 28, 28])
    """

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        modules = list(modules)
        if not modules:
            raise ValueError("expected at least one module to stack (got none)")
        names = [tuple(n for n, _ in m.named_parameters()) for m in modules]
        if any(n != names[0] for n in names):
            raise ValueError("expected modules of one architecture (their parameter names differ)")
        params, buffers = stack_module_state(modules)
        trainable = {n: p.requires_grad for n, p in modules[0].named_parameters()}
        self.size = len(modules)
        self.names = tuple(params)
        self.params = nn.ParameterList(
            [nn.Parameter(params[n].detach(), requires_grad=trainable[n]) for n in self.names]
        )
        self.buffer_names = tuple(buffers)
        self.buffers = [buffers[n].detach() for n in self.buffer_names]
        self.template = copy.deepcopy(modules[0]).to("meta")

    def __repr__(self) -> str:
        count = sum(p[0].numel() for p in self.params)
        return f"StackedModule({type(self.template).__name__} x {self.size}, {count:,} parameters per copy)"

    # -- calling the copies ----------------------------------------------------------------------
    def trainable(self) -> list[nn.Parameter]:
        """The stacked parameters with ``requires_grad`` (what a single run's optimiser gets), in order."""
        return [p for p in self.params if p.requires_grad]

    def state(self, *, detach: bool = False) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``(parameters, buffers)`` by name, for :func:`functional_call`; ``detach``: no gradients to them."""
        params = {n: (p.detach() if detach else p) for n, p in zip(self.names, self.params)}
        return params, dict(zip(self.buffer_names, self.buffers))

    def functional(self, state: tuple[dict[str, Tensor], dict[str, Tensor]], *args: Any) -> Any:
        """One copy's forward pass: the template called with ``state`` (that copy's tensors)."""
        return functional_call(self.template, state, args)

    def __call__(self, *args: Tensor, detach: bool = False, randomness: str = "different") -> Any:
        """Every copy on its own input: ``args`` are ``[S, ...]``; returns the outputs stacked ``[S, ...]``.

        ``randomness="different"``: random layers (the Gaussian noise) draw independently for each copy.
        """
        run: Callable = vmap(self.functional, randomness=randomness)
        return run(self.state(detach=detach), *args)

    # -- reading copies out ----------------------------------------------------------------------
    @torch.no_grad()
    def copy_state(self, index: int) -> dict[str, Tensor]:
        """Copy ``index``'s ``state_dict``: the keys, order and shapes of a single module's."""
        self._check_index(index)
        state = {n: p[index].clone() for n, p in zip(self.names, self.params)}
        state.update({n: b[index].clone() for n, b in zip(self.buffer_names, self.buffers)})
        reference = self.template.state_dict()
        return {key: state[key] for key in reference}

    def unstack(self, index: int, *, device: torch.device | str | None = None) -> nn.Module:
        """Copy ``index`` as an ordinary module (on ``device``, default the stack's), in the template's mode."""
        device = self.params[0].device if device is None else device
        module = copy.deepcopy(self.template).to_empty(device=device)
        module.load_state_dict(self.copy_state(index))
        return module

    @torch.no_grad()
    def load_copy(self, index: int, state_dict: dict[str, Tensor]) -> None:
        """Overwrite copy ``index`` with a single module's ``state_dict`` (e.g. from a run's checkpoint)."""
        self._check_index(index)
        expected = set(self.names) | set(self.buffer_names)
        if set(state_dict) != expected:
            raise ValueError(f"expected a state dict with keys {sorted(expected)} (got {sorted(state_dict)})")
        for name, tensor in zip(self.names + self.buffer_names, list(self.params) + self.buffers):
            tensor[index].copy_(state_dict[name])

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"expected a copy index in [0, {self.size}) (got {index})")
