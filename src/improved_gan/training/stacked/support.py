"""What the stacked engine trains, how many copies fit, and how seeds are cut into stacks.

Each check raises one :class:`~improved_gan.errors.ConfigError` or
:class:`~improved_gan.errors.UserError` whose message says what is wrong and what to do.
"""

from __future__ import annotations

import os
from typing import Sequence

import torch

from improved_gan.config import TrainConfig
from improved_gan.errors import ConfigError, UserError

__all__ = ["check_supported", "plan_stacks", "estimate_memory", "check_memory", "available_memory"]

# Fields that may differ between the copies of one stack: everything else is one config.
PER_COPY_FIELDS = ("seed", "data_seed")


def check_supported(config: TrainConfig) -> None:
    """Raise :class:`ConfigError` for a configuration the stacked engine does not implement.

    The engine implements what mnist-fm (Table 1) needs, and the objective's simple
    variants that share its code path: the permutation-invariant MLPs, the authors'
    Adam, the warm-started EMA of D, float32, feature matching or either GAN loss for
    G, labels or none, one-sided label smoothing, any number of G steps.
    """
    reasons = []
    if config.architecture != "mnist-mlp":
        reasons.append(
            f"architecture={config.architecture}: only the MNIST MLPs are stacked and checked against the "
            "reference step (the conv nets would vmap the same way, but their equivalence is not tested yet)"
        )
    if config.minibatch_kernels:
        reasons.append(
            "minibatch discrimination (minibatch_kernels > 0): its layer couples the rows of a batch, so real and "
            "generated batches need separate passes the stacked step does not make"
        )
    if config.historical_averaging > 0:
        reasons.append(
            "historical averaging (historical_averaging > 0): its running means are not stacked"
        )
    if config.optimizer != "adam-authors":
        reasons.append(
            f"optimizer={config.optimizer}: the stacked engine applies the authors' Adam (training/optim.py) "
            "to the stacked tensors; torch's Adam is not wired in"
        )
    if config.precision == "bf16":
        reasons.append("precision=bf16: the stacked engine computes in float32 (use precision=fp32 or auto)")
    if reasons:
        raise ConfigError(
            f"the stacked engine cannot train preset {config.preset!r}: " + "; ".join(reasons)
            + ". Train it one seed per run instead."
        )


def check_same_experiment(configs: Sequence[TrainConfig]) -> None:
    """Raise :class:`ConfigError` unless the configs differ only in ``seed`` and ``data_seed``."""
    def shared(config: TrainConfig) -> dict:
        return {k: v for k, v in config.to_dict().items() if k not in PER_COPY_FIELDS}

    first = shared(configs[0])
    for config in configs[1:]:
        other = shared(config)
        differing = sorted(k for k in first if first[k] != other[k])
        if differing:
            raise ConfigError(
                f"copies of one stack must share their configuration except {PER_COPY_FIELDS}; "
                f"seed {configs[0].seed} and seed {config.seed} differ in {differing}"
            )


def plan_stacks(seeds: Sequence[int], stack: int) -> list[list[int]]:
    """Cut ``seeds`` into consecutive stacks of at most ``stack`` copies.

    >>> plan_stacks(range(10), 4)
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """
    seeds = list(seeds)
    if not seeds:
        raise UserError("no seeds to train: name at least one seed")
    if len(set(seeds)) != len(seeds):
        raise UserError(f"each seed may appear once in a stack (got {seeds})")
    if stack < 1:
        raise UserError(f"the stack size must be at least 1 (got {stack})")
    if stack > len(seeds):
        raise UserError(
            f"a stack of {stack} copies needs at least {stack} seeds, but {len(seeds)} were given "
            f"({seeds}); use --stack {len(seeds)} or name more seeds"
        )
    return [seeds[i : i + stack] for i in range(0, len(seeds), stack)]


# -- memory ----------------------------------------------------------------------------------------

# float32 values held per trained parameter: the value, its gradient, Adam's two moments
# (the EMA's average of D's parameters is counted separately)
_FLOATS_PER_PARAMETER = 4
# float32 values per activation unit and row kept for one step's backward pass (the layer's
# output, the noise added to it, the ReLU mask, and autograd's temporaries), a generous bound
_FLOATS_PER_ACTIVATION = 6


def estimate_memory(config: TrainConfig, stack: int, *, parameters: tuple[int, int], widths: tuple[int, int]) -> int:
    """Bytes S copies need beyond the shared data, an upper estimate.

    Args:
        config: the stack's configuration (batch size).
        stack: S.
        parameters: ``(generator, discriminator)`` parameter counts per copy.
        widths: ``(generator, discriminator)`` sums of layer widths, input and output included.

    The D step holds the activations of ``3 B`` rows (labeled, unlabeled, generated) through
    D and ``B`` through G; the G step ``B`` through G and ``2 B`` through D; the larger of the
    two counts. Per parameter: value, gradient and Adam's moments, plus the EMA for D.
    """
    g_params, d_params = parameters
    g_width, d_width = widths
    batch = config.batch_size
    state = _FLOATS_PER_PARAMETER * (g_params + d_params) + d_params  # + the EMA of D
    activations = _FLOATS_PER_ACTIVATION * batch * max(3 * d_width + g_width, 2 * d_width + g_width)
    return 4 * stack * (state + activations)


def available_memory(device: torch.device) -> int:
    """Free bytes on ``device``: CUDA's free memory, or the host's available memory (Linux)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_memory(needed: int, stack: int, available: int, *, device: torch.device) -> None:
    """Raise :class:`UserError` when ``needed`` bytes for ``stack`` copies exceed ``available``."""
    if needed <= available:
        return
    per_copy = needed / stack
    fit = int(available // per_copy)
    gib = 2.0**30
    raise UserError(
        f"{stack} stacked copies need about {needed / gib:.2f} GiB on {device}, but {available / gib:.2f} GiB "
        f"are free: at most {fit} copies fit; use a smaller --stack"
    )
