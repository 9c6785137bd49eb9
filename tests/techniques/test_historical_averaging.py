"""Historical averaging (Section 3.3) against stored snapshots and the analytic gradient."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from improved_gan.errors import ConfigError
from improved_gan.techniques import HistoricalAverage, historical_averaging_penalty


def _train_with_snapshots(steps: int, **kwargs):
    model = nn.Linear(3, 2)
    history = HistoricalAverage(model.parameters(), **kwargs)
    snapshots = [[p.detach().double().clone() for p in model.parameters()]]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        (model(torch.randn(5, 3)).square().mean() + history.penalty()).backward()
        optimizer.step()
        history.update()
        snapshots.append([p.detach().double().clone() for p in model.parameters()])
    return model, history, snapshots


def test_online_mean_equals_mean_of_stored_snapshots():
    model, history, snapshots = _train_with_snapshots(12)
    assert history.count == len(snapshots) == 13  # theta[1] (construction) .. theta[13] (current)
    for index, average in enumerate(history.averages):
        expected = torch.stack([snapshot[index] for snapshot in snapshots]).mean(0)
        # 1e-12: a float64 running mean of 13 O(1) values against a float64 mean: ~13 eps (3e-15) apart;
        # a snapshot missed or counted twice moves the mean by ~1/13 of a step (>= 1e-3)
        torch.testing.assert_close(average, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(snapshots[-1][0], model.weight.detach().double())  # the current value is included


def test_penalty_is_zero_at_construction():
    history = HistoricalAverage(nn.Linear(4, 4).parameters())
    assert history.count == 1 and history.penalty().item() == 0.0


def test_penalty_gradient_is_twice_the_difference():
    model, history, _ = _train_with_snapshots(5, weight=0.5)
    for p in model.parameters():
        p.grad = None
    history.penalty().backward()
    for p, average in zip(model.parameters(), history.averages):
        # float32 defaults (1.3e-6 relative, 1e-5 absolute): the same float32 difference, times 2 * weight
        # (exact); a missing factor 2 or weight errs by 50%
        torch.testing.assert_close(p.grad, 0.5 * 2 * (p.detach() - average.float()))


def test_pure_penalty_value_and_gradient():
    theta = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    other = torch.randn(5, dtype=torch.float64, requires_grad=True)
    averages = [torch.randn(3, 4, dtype=torch.float64, requires_grad=True), torch.randn(5, dtype=torch.float64)]
    penalty = historical_averaging_penalty([theta, other], averages)
    expected = ((theta - averages[0]) ** 2).sum() + ((other - averages[1]) ** 2).sum()
    # float64 defaults (1e-7) here and below: the same 17 squared differences summed in another order (~1e-15)
    torch.testing.assert_close(penalty, expected)
    penalty.backward()
    torch.testing.assert_close(theta.grad, 2 * (theta - averages[0]).detach())
    assert averages[0].grad is None  # the average is a constant


def test_state_dict_round_trip_resumes_exactly(tmp_path):
    model, history, _ = _train_with_snapshots(7)
    torch.save(history.state_dict(), tmp_path / "ha.pt")
    restored = HistoricalAverage(model.parameters())
    restored.load_state_dict(torch.load(tmp_path / "ha.pt"))
    assert restored.count == history.count == 8
    for a, b in zip(restored.averages, history.averages):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with torch.no_grad():
        model.weight.add_(1.0)
    history.update(), restored.update()
    torch.testing.assert_close(restored.penalty(), history.penalty(), rtol=0, atol=0)


def test_float64_mean_keeps_moving_where_float32_stalls():
    theta = nn.Parameter(torch.ones(1))
    wide, narrow = HistoricalAverage([theta]), HistoricalAverage([theta], dtype=None)
    wide.count = narrow.count = 10**6 - 1  # as after a million steps with theta = 1
    with torch.no_grad():
        theta.fill_(1.01)  # a parameter 1% away from its mean
    wide.update(), narrow.update()
    assert narrow.averages[0].item() == 1.0  # float32: 0.01 / 1e6 is below half an ulp of 1.0 (6e-8)
    # rel=1e-12: one float64 update of the mean, a few eps of 1.0; a stalled mean (1.0) is 1e-8 off
    assert wide.averages[0].item() == pytest.approx(1.0 + 0.01 / 10**6, rel=1e-12)


def test_reset_and_repr():
    model = nn.Linear(2, 2)
    history = HistoricalAverage(model.parameters(), weight=0.25)
    with torch.no_grad():
        model.weight.add_(1.0)
    history.update()
    history.reset()
    assert history.count == 1 and history.penalty().item() == 0.0
    assert repr(history) == "HistoricalAverage(tensors=2, numel=6, count=1, weight=0.25, dtype=torch.float64)"


def test_bad_arguments():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="at least one parameter"):
        HistoricalAverage([])
    with pytest.raises(ConfigError, match="weight must be a number >= 0"):
        HistoricalAverage(model.parameters(), weight=-1.0)
    history = HistoricalAverage(model.parameters())
    with pytest.raises(ValueError, match=r"expected 2 averages, one per tracked parameter \(got 1\)"):
        history.load_state_dict({"count": 3, "averages": [torch.zeros(2, 2)]})
    with pytest.raises(ValueError, match=r"expected average 1 of shape \(2,\) \(got \(3,\)\)"):
        history.load_state_dict({"count": 3, "averages": [torch.zeros(2, 2), torch.zeros(3)]})
    with pytest.raises(ValueError, match="missing"):
        history.load_state_dict({"averages": []})
    with pytest.raises(ValueError, match="one average per parameter"):
        historical_averaging_penalty([torch.zeros(2)], [])
