"""Table 3: the ablations of Section 6.2 as a list of configurations.

The paper scores CIFAR-10 samples of "our methods" (minibatch features, virtual
batch norm in G, one-sided label smoothing, labels; no feature matching and no
historical averaging) and of variants that each remove or swap one technique.
Each row here is :func:`~improved_gan.experiments.presets.get_preset` ``("cifar10-mbd")``
with a few fields replaced, so an ablation is a config, never a code path.

The paper does not give the weight of historical averaging in "-L+HA"; we use
``HISTORICAL_AVERAGING_WEIGHT`` and say so in the table.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Sequence

from improved_gan.config import TrainConfig, apply_overrides
from improved_gan.errors import UserError
from improved_gan.experiments.presets import get_preset

HISTORICAL_AVERAGING_WEIGHT = 1e-3
LABEL_SMOOTHING = 0.9


class Ablation(NamedTuple):
    name: str                   # the row's name in Table 3
    description: str
    paper_score: tuple[float, float]   # Inception score, mean and std, 50,000 samples
    config: TrainConfig | None  # None: real data (no training)


def table3(base: TrainConfig | None = None, *, only: Sequence[str] = ()) -> list[Ablation]:
    """The rows of Table 3, built on ``base`` (default: the cifar10-mbd preset); ``only``: these rows alone, in
    the table's order (a UserError naming any the table lacks)."""
    rows = _rows(base)
    unknown = sorted(set(only) - {row.name for row in rows})
    if unknown:
        raise UserError(f"unknown rows {unknown}; choose from {[row.name for row in rows]}")
    return [row for row in rows if row.name in only] if only else rows


def _rows(base: TrainConfig | None) -> list[Ablation]:
    ours = dataclasses.replace(
        base or get_preset("cifar10-mbd"), generator_norm="virtual", label_smoothing=LABEL_SMOOTHING
    )

    def variant(tag: str, **changes) -> TrainConfig:
        return apply_overrides(ours, {"preset": f"table3{tag}", **changes})

    no_labels = dict(mode="gan")  # apply_overrides: labels 0
    return [
        Ablation("Real data", "CIFAR-10 training images", (11.24, 0.12), None),
        Ablation("Our methods", "minibatch features, VBN, label smoothing, labels", (8.09, 0.07), variant("-ours")),
        Ablation("-VBN+BN", "batch norm instead of virtual batch norm in G", (7.54, 0.07),
                 variant("-vbn+bn", generator_norm="batch")),
        Ablation("-L+HA", f"no labels, historical averaging (weight {HISTORICAL_AVERAGING_WEIGHT})", (6.86, 0.06),
                 variant("-l+ha", historical_averaging=HISTORICAL_AVERAGING_WEIGHT, **no_labels)),
        Ablation("-LS", "no label smoothing", (6.83, 0.06), variant("-ls", label_smoothing=None)),
        Ablation("-L", "no labels", (4.36, 0.04), variant("-l", **no_labels)),
        Ablation("-MBF", "no minibatch features", (3.87, 0.03), variant("-mbf", minibatch_kernels=0)),
    ]
