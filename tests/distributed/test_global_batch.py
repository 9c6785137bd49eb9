"""N ranks x B/N = 1 x B: two real gloo processes against one, float64, D's noise off, same z and batches.

Each case trains ``global_batch_ranks.STEPS`` iterations from the same seeded build. The whole-batch parts of
the method (G's batch norm, feature matching's means, minibatch features) are computed over the global batch,
so what is left between the two runs is the order of floating-point reductions.
"""

from __future__ import annotations

import socket

import pytest
import torch
import torch.multiprocessing as mp

from distributed import global_batch_ranks as job
from improved_gan.training.distributed import DistributedContext

TOLERANCE = 1e-10  # measured: at most ~1e-13 after four steps (see docs/distributed.md)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    root = tmp_path_factory.mktemp("global-batch")
    mp.spawn(job.run_rank, args=(2, _free_port(), str(root)), nprocs=2, join=True)
    return [torch.load(root / f"rank{r}.pt", weights_only=False) for r in range(2)]


def _largest_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-300)) for k in a)


@pytest.mark.parametrize("case", list(job.CASES))
def test_two_ranks_of_half_the_batch_train_as_one_process_of_the_whole(ranks, case):
    single = job.train_case(case, DistributedContext())
    for rank in ranks:
        assert rank[case].keys() == single.keys()
        for part in single:
            difference = _largest_difference(rank[case][part], single[part])
            assert difference < TOLERANCE, f"{case} {part}: {difference:.2e}"


def test_the_cases_cover_the_whole_batch_methods():
    """G's batch norm (all three), feature matching (fm), minibatch features and historical averaging (mbd)."""
    assert {job.case_config(c).generator_loss for c in job.CASES} >= {"feature-matching", "saturating"}
    assert any(job.case_config(c).minibatch_kernels for c in job.CASES)
    assert any(job.case_config(c).historical_averaging for c in job.CASES)
    assert {job.case_config(c).architecture for c in job.CASES} == {"mnist-mlp", "cifar-conv"}


def test_make_global_keeps_the_layer_its_parameters_and_state_dict():
    from improved_gan.layers import BatchStatisticsNorm
    from improved_gan.models.mnist import MNISTDiscriminator, MNISTGenerator
    from improved_gan.training.global_batch import GlobalBatchStatisticsNorm, make_global, use_global_batch

    two = DistributedContext(rank=1, world_size=2, backend="gloo")
    generator = MNISTGenerator(hidden_sizes=(6, 5))
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    parameters = list(generator.parameters())
    assert use_global_batch(generator, two) == ["net.1", "net.4"]
    assert all(type(generator.net[i]) is GlobalBatchStatisticsNorm for i in (1, 4))
    assert list(generator.parameters()) == parameters  # the same objects: an optimiser built before still updates them
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())
    assert use_global_batch(MNISTGenerator(), DistributedContext()) == []  # one process: nothing to do
    discriminator = MNISTDiscriminator(hidden_sizes=(6, 5), minibatch_kernels=3, minibatch_kernel_dim=2)
    assert len(use_global_batch(discriminator, two)) == 1
    with pytest.raises(TypeError, match="BatchStatisticsNorm"):
        make_global(torch.nn.Linear(2, 2), two)
    # in eval mode (a rank's own sample grid) the layer is the local one, with no collective
    norm = make_global(BatchStatisticsNorm(3), two).eval()
    x = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(norm(x), (x - x.mean(0)) / (x.var(0, unbiased=False) + 1e-6).sqrt() + norm.bias)
