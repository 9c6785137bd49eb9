"""With the noise on, stacked copies and single runs of the same seeds train alike (issue 15).

Four seeds of mnist-fm on mnist5k (100 labels, batches of 50, 300 iterations):
once as a stack of four, once as four single runs with the reference step. The
noise differs by construction (a stacked copy draws it from the stack's
stream), so the two are two samples of the same training. The test errors of
the EMA discriminators (1,000 test images) are compared with Welch's t-test
on the two groups of four; the test fails when it tells them apart at the 1%
level, or when either group has not learned (more than 50% errors).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from training.test_stacked_common import TINY_FM, train_single, with_config

from improved_gan.training.experiment_data import load_experiment_data
from improved_gan.training.stacked import StackedEngine, build_copy, copy_configs

SEEDS = (0, 1, 2, 3)
CONFIG = with_config(TINY_FM, labels=100, batch_size=50, iters_per_epoch=100, epochs=3)


def ema_test_errors(step, discriminator, data) -> int:
    """Test errors of the reference step's EMA discriminator."""
    import copy

    averaged = step.ema.copy_to(copy.deepcopy(discriminator)).eval()
    with torch.no_grad():
        logits = averaged(data.x_test).logits
    return int((logits.argmax(1) != data.y_test).sum())


@pytest.mark.slow
def test_stacked_copies_and_single_runs_reach_indistinguishable_test_errors():
    torch.set_num_threads(1)
    data = load_experiment_data(CONFIG, device=torch.device("cpu"))
    engine = StackedEngine.build(CONFIG, SEEDS, data=data)
    for _ in range(CONFIG.epochs):
        engine.run_epoch(CONFIG.lr, evaluate=False)
    stacked = engine.evaluate()[0].numpy()
    singles = []
    for config in copy_configs(CONFIG, SEEDS):
        copy = build_copy(config, data, device=torch.device("cpu"))
        step = train_single(copy, data, CONFIG.epochs)
        singles.append(ema_test_errors(step, copy.discriminator, data))
    singles = np.array(singles)
    p = stats.ttest_ind(stacked, singles, equal_var=False).pvalue
    print(f"test errors /1000: stacked {stacked.tolist()}, single {singles.tolist()}, Welch p = {p:.3f}")
    assert stacked.max() < 500 and singles.max() < 500
    assert p > 0.01
