"""Bad input to the stacked engine: one clear error each (issue 15, "Bad input")."""

from __future__ import annotations

import re

import pytest
import torch
from training.test_stacked_common import TINY_FM, with_config

from improved_gan.errors import ConfigError, UserError
from improved_gan.training.stacked import StackedEngine, check_supported, plan_stacks


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        (dict(minibatch_kernels=100, generator_loss="saturating"), "minibatch discrimination"),
        (dict(architecture="cifar-conv", dataset="cifar10"), "architecture=cifar-conv"),
        (dict(historical_averaging=1e-3), "historical averaging"),
        (dict(optimizer="adam-torch"), "optimizer=adam-torch"),
        (dict(precision="bf16"), "precision=bf16"),
    ],
)
def test_an_unsupported_preset_says_which_feature_and_why(changes, named):
    with pytest.raises(ConfigError, match=named) as info:
        check_supported(with_config(TINY_FM, **changes))
    assert "one seed per run" in str(info.value)


def test_the_presets_it_trains_pass():
    check_supported(TINY_FM)
    check_supported(with_config(TINY_FM, mode="gan", labels=0, generator_loss="non-saturating"))


def test_a_stack_larger_than_the_seeds():
    with pytest.raises(UserError, match=r"a stack of 4 copies needs at least 4 seeds, but 3 were given"):
        plan_stacks([0, 1, 2], 4)
    assert plan_stacks(range(10), 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(UserError, match="at least 1"):
        plan_stacks([0], 0)
    with pytest.raises(UserError, match="once"):
        plan_stacks([0, 0], 1)


def test_not_enough_memory_is_refused_before_allocating():
    """The estimate comes first: no data is loaded, no network built (``data=None`` would load it)."""
    with pytest.raises(UserError, match=r"40 stacked copies need about .* GiB .* at most (\d+) copies fit") as info:
        StackedEngine.build(TINY_FM, range(40), memory_available=200 * 2**20, device=torch.device("cpu"))
    fit = int(re.search(r"at most (\d+) copies", str(info.value)).group(1))
    assert 0 < fit < 40 and "use a smaller --stack" in str(info.value)


def test_copies_must_share_their_experiment():
    from improved_gan.training.stacked.support import check_same_experiment

    with pytest.raises(ConfigError, match=r"differ in \['lr'\]"):
        check_same_experiment([TINY_FM, with_config(TINY_FM, seed=1, lr=1e-3)])
    check_same_experiment([TINY_FM, with_config(TINY_FM, seed=1, data_seed=7)])
