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

**Random layers.** A copy's noise must not depend on the other copies: under
``vmap(randomness="different")`` the noise layers would draw ``[S, ...]`` at once
from one generator, so copy s's numbers would depend on S and on its place in
the stack. Instead :meth:`StackedModule.draw_noise` draws each copy's noise from
that copy's own generator, layer by layer in the order of the forward pass (the
order in which a single run's layers draw from its global generator, with the
same ``torch.randn`` calls), and the forward pass is given these draws
(``noise=``): each :class:`~improved_gan.layers.GaussianNoise` layer then adds
``std * draw`` where it would have drawn. The vmapped calls run with
``randomness="error"``, so nothing else can draw from a shared generator.

**Batch statistics per copy.** Under vmap, ``F.batch_norm``'s batching rule folds the
S copies into the channels (``[S, B, C]`` becomes ``[B, S C]``), and its CPU kernels
round differently for different ``S C``: copy s's statistics, and in particular their
gradients, would depend on the stack. In the vmapped pass each
:class:`~improved_gan.layers.BatchStatisticsNorm` therefore computes the same formula
with explicit reductions (:func:`per_copy_batch_norm`): a mean, then the mean of the
centred squares (the two-pass variance), each a reduction over copy s's own rows,
whose order does not depend on S. Likewise ``nn.Softplus``: on a ``[S, B, C]`` tensor
ATen's CPU kernel computes the last few elements of the whole tensor (fewer than two
SIMD vectors) with a scalar function that rounds differently from its SIMD one, so
the last copy's last values would depend on S whenever ``B C`` is not a multiple of
the SIMD block; the vmapped pass computes it as ``log1p(exp(x))``
(:func:`lane_independent_softplus`), whose kernels give the same bits on either
path. Forward and backward, copy s then computes the same numbers alone and in any
stack (one thread; ``tests/training/test_stacked_seed.py``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from improved_gan.layers import BatchStatisticsNorm, GaussianNoise

__all__ = ["StackedModule", "lane_independent_softplus", "per_copy_batch_norm"]


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
        self._noise_plans: dict[tuple, list[tuple[torch.Size, torch.dtype]]] = {}

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

    def functional(self, state: tuple[dict[str, Tensor], dict[str, Tensor]], *args: Any,
                   noise: Sequence[Tensor] | None = None) -> Any:
        """One copy's forward pass: the template called with ``state`` (that copy's tensors).

        ``noise``: the copy's draws for its noise layers (:meth:`draw_noise`), used in order
        instead of drawing; None for a pass without random layers (or in eval mode).
        """
        supplied = self._supplied_noise(noise) if noise else contextlib.nullcontext()
        with self._per_copy_statistics(), supplied:
            return functional_call(self.template, state, args)

    def __call__(self, *args: Tensor, detach: bool = False, noise: Sequence[Tensor] | None = None) -> Any:
        """Every copy on its own input: ``args`` are ``[S, ...]``; returns the outputs stacked ``[S, ...]``.

        ``noise``: each copy's noise draws, ``[S, ...]`` per draw (:meth:`draw_noise`). They go to the
        vmapped function as a positional argument: vmap maps positional arguments only, and would hand
        every copy the whole ``[S, ...]`` stack of a keyword argument.
        """

        def one_copy(state, noise, *inputs):
            return self.functional(state, *inputs, noise=noise)

        run: Callable = vmap(one_copy, randomness="error")
        return run(self.state(detach=detach), list(noise or ()), *args)

    # -- each copy's noise from its own stream ---------------------------------------------------
    def noise_plan(self, *args: Tensor) -> list[tuple[torch.Size, torch.dtype]]:
        """``(shape, dtype)`` of every draw one copy's forward pass on ``args`` makes, in order.

        ``args`` are one copy's inputs (no copy dimension; only their shapes and dtypes are
        read). Found once per input shape by a pass of the storage-free template on the
        ``meta`` device: each noise layer with ``std > 0`` draws the shape of its input.
        """
        key = (tuple((tuple(a.shape), a.dtype) for a in args), self.template.training)
        if key not in self._noise_plans:
            plan: list[tuple[torch.Size, torch.dtype]] = []

            def record(module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
                if module.training and module.std > 0:
                    plan.append((inputs[0].shape, inputs[0].dtype))

            handles = [m.register_forward_pre_hook(record) for m in self._noise_layers()]
            try:
                with torch.no_grad():
                    self.template(*(torch.empty(a.shape, dtype=a.dtype, device="meta") for a in args))
            finally:
                for handle in handles:
                    handle.remove()
            self._noise_plans[key] = plan
        return self._noise_plans[key]

    def draw_noise(self, generators: Sequence[torch.Generator], *args: Tensor) -> list[Tensor]:
        """Each copy's standard normal draws for a forward pass on ``args`` (one copy's inputs).

        Copy s draws from ``generators[s]`` alone, draw after draw in the forward pass's order,
        ``torch.randn(shape, generator=generators[s])`` each: what the single run of its seed
        draws from its global generator (``randn_like``) in the same pass. Returns one
        ``[S, *shape]`` tensor per draw.
        """
        if len(generators) != self.size:
            raise ValueError(f"expected one generator per copy ({self.size}, got {len(generators)})")
        plan = self.noise_plan(*args)
        if not plan:
            return []
        device = self.params[0].device
        per_copy = [
            [torch.randn(shape, dtype=dtype, device=device, generator=rng) for shape, dtype in plan]
            for rng in generators
        ]
        return [torch.stack(draws) for draws in zip(*per_copy)]

    def _noise_layers(self) -> list[GaussianNoise]:
        return [m for m in self.template.modules() if isinstance(m, GaussianNoise)]

    @contextlib.contextmanager
    def _per_copy_statistics(self) -> Iterator[None]:
        """The template's batch norms and softplus compute their formulas stack-independently.

        Batch norm: :func:`per_copy_batch_norm`; softplus: :func:`lane_independent_softplus`.
        """
        replaced = [(m, _per_copy_forward) for m in self.template.modules() if type(m) is BatchStatisticsNorm]
        replaced += [(m, _softplus_forward) for m in self.template.modules() if type(m) is nn.Softplus]
        for module, forward in replaced:
            module.forward = functools.partial(forward, module)  # an instance attribute, removed below
        try:
            yield
        finally:
            for module, _ in replaced:
                del module.forward

    @contextlib.contextmanager
    def _supplied_noise(self, noise: Sequence[Tensor]) -> Iterator[None]:
        """The template's noise layers add ``std * draw`` from ``noise`` (in order) instead of drawing."""
        draws = iter(noise)
        active = [m for m in self._noise_layers() if m.training and m.std > 0]

        def add(module: GaussianNoise, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
            return torch.add(inputs[0], next(draws), alpha=module.std)  # gaussian_noise's own expression

        handles = [m.register_forward_hook(add) for m in active]
        for module in active:
            module.train(False)  # its forward passes the input through, drawing nothing
        try:
            yield
        finally:
            for module in active:
                module.train(True)
            for handle in handles:
                handle.remove()
        if next(draws, None) is not None:
            raise ValueError("more noise draws were given than the forward pass used")

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


def per_copy_batch_norm(x: Tensor, bias: Tensor, *, eps: float) -> Tensor:
    """:func:`~improved_gan.layers.batch_statistics_norm` with explicit reductions (for one copy, under vmap).

    .. math::
        y = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} + b,\\quad
        \\mu = \\mathrm{mean}(x),\\quad \\sigma^2 = \\mathrm{mean}\\big((x - \\mu)^2\\big)

    per feature, over the rows (and the H x W positions of a feature map). Under vmap
    each mean is a reduction over one copy's rows, so copy s's numbers, forward and
    backward, do not depend on the other copies (``F.batch_norm`` folds the copies into
    its channels). Shapes: ``x [N, C]`` or ``[N, C, H, W]``, ``bias [C]``; output as ``x``.
    """
    dims = [0, *range(2, x.dim())]
    shape = (1, -1) + (1,) * (x.dim() - 2)
    wide = x.double()  # the statistics in float64, as ATen's CPU batch norm accumulates them
    mean = wide.mean(dims, keepdim=True)
    variance = (wide - mean).square().mean(dims, keepdim=True)  # biased (divisor N), as the reference's
    # then, as F.batch_norm and the layer, (x a + c) + b in x's dtype, a = 1/sqrt(var + eps), c = -mean a
    scale = torch.rsqrt(variance + eps).to(x.dtype)
    return (x * scale - mean.to(x.dtype) * scale) + bias.to(x.dtype).view(shape)


def _per_copy_forward(norm: BatchStatisticsNorm, x: Tensor) -> Tensor:
    """``norm.forward`` in a stacked pass: its input check, then :func:`per_copy_batch_norm`."""
    if x.dim() not in (2, 4) or x.shape[1] != norm.num_features:
        raise ValueError(f"expected input of shape [N, {norm.num_features}] or [N, {norm.num_features}, H, W]"
                         f" (got {list(x.shape)})")
    return per_copy_batch_norm(x, norm.bias, eps=norm.eps)


def lane_independent_softplus(x: Tensor, *, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``F.softplus(x, beta, threshold)``, from ``exp`` and ``log1p`` (for the stacked pass).

    .. math::
        \\mathrm{softplus}(x) = \\tfrac1\\beta \\log(1 + e^{\\beta x}), \\text{ or } x \\text{ where } \\beta x > \\text{threshold}

    the expression of ATen's own kernel. Its CPU kernel computes a tensor's last
    elements with a scalar function that rounds differently from its SIMD one; the
    kernels of ``exp`` and ``log1p`` (and of the backward's ``mul``, ``div``, ``add``)
    give the same bits on both paths, so an element's value does not depend on where
    it sits in the tensor. ``beta x`` is clamped at the threshold before ``exp``, so
    the discarded branch never overflows (nor sends NaN gradients). Shape: any.
    """
    scaled = x * beta
    smooth = torch.log1p(torch.exp(scaled.clamp(max=threshold))) / beta
    return torch.where(scaled > threshold, x, smooth)


def _softplus_forward(softplus: nn.Softplus, x: Tensor) -> Tensor:
    """``softplus.forward`` in a stacked pass: :func:`lane_independent_softplus`."""
    return lane_independent_softplus(x, beta=softplus.beta, threshold=softplus.threshold)
