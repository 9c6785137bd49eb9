"""Every Table 3 variant is a config that builds and takes a training step."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from improved_gan.experiments.ablations import table3
from improved_gan.training.build import build_models, initialise_models
from improved_gan.training.steps.reference import ReferenceStep

ROWS = [row for row in table3() if row.config is not None]


def test_rows_differ_from_ours_in_one_named_way():
    ours = next(row.config for row in ROWS if row.name == "Our methods")
    assert ours.minibatch_kernels == 100 and ours.generator_norm == "virtual" and ours.label_smoothing == 0.9
    assert ours.generator_loss == "saturating" and ours.historical_averaging == 0 and ours.mode == "semi-supervised"
    changed = {row.name: {k for k, v in row.config.to_dict().items() if v != ours.to_dict()[k]} - {"preset"} for row in ROWS}
    assert changed["-VBN+BN"] == {"generator_norm"}
    assert changed["-LS"] == {"label_smoothing"}
    assert changed["-MBF"] == {"minibatch_kernels"}
    assert changed["-L"] == {"mode", "labels"}
    assert changed["-L+HA"] == {"mode", "labels", "historical_averaging"}


def test_only_keeps_the_table_order_and_names_an_unknown_row():
    from improved_gan.errors import UserError

    assert [row.name for row in table3(only=["-MBF", "Real data"])] == ["Real data", "-MBF"]
    with pytest.raises(UserError, match=r"unknown rows \['-XYZ'\]; choose from \['Real data', 'Our methods'"):
        table3(only=["-MBF", "-XYZ"])


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_variant_takes_a_step(row):
    config = dataclasses.replace(row.config, batch_size=8, init_batch_size=16, generator_steps=1).validate()
    g, d = build_models(config, image_shape=(3, 32, 32), num_classes=10, device=torch.device("cpu"))
    x = torch.rand(32, 3, 32, 32) * 2 - 1
    y = torch.randint(0, 10, (32,))
    initialise_models(g, d, x, config)
    step = ReferenceStep(config, g, d)
    before = [p.detach().clone() for p in g.parameters()]
    labeled = config.mode == "semi-supervised"
    stats = step.discriminator_step(x[:8], x[8:16] if labeled else None, y[8:16] if labeled else None)
    stats.update(step.generator_step(x[16:24]))
    assert all(torch.isfinite(v).all() for v in stats.values())
    assert ("loss_sup" in stats) == labeled
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))
    if config.historical_averaging:
        assert step.ha_d is not None and step.ha_d.count == 2
