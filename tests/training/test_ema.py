"""The warm-started EMA against a direct recurrence in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from improved_gan.training.ema import ExponentialMovingAverage


def test_ema_follows_the_warm_started_recurrence():
    model = nn.Linear(3, 2).double()
    ema = ExponentialMovingAverage(model, rate=1e-2, warmup=10)
    expected = None
    g = torch.Generator().manual_seed(0)
    for t in range(1, 400):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype))
        ema.update(model)
        current = torch.cat([p.detach().flatten() for p in model.parameters()])
        rate = max(1e-2, min(1.0, 9 / (8 + t)))
        expected = current.clone() if expected is None else expected + rate * (current - expected)
        assert ema.current_rate(t) == pytest.approx(rate)  # one float division each: approx's 1e-6 of room
    got = torch.cat([a.flatten() for a in ema.averaged()])
    # 1e-12: each float64 step rounds the average (|theta| ~ 20 after 400 unit steps) by ~eps * 20 = 4e-15, and the
    # recurrence damps old error by (1 - rate >= 0.01 per step): at most ~4e-13 in all; a wrong rate at any one step
    # (the warm start's 9 / (8 + t)) errs by > 1e-3
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_first_update_copies_and_late_rate_is_the_authors():
    model = nn.Linear(2, 2)
    ema = ExponentialMovingAverage(model, rate=1e-4)
    assert ema.current_rate(1) == 1.0
    assert ema.current_rate(10**6) == 1e-4
    ema.update(model)
    target = nn.Linear(2, 2)
    ema.copy_to(target)
    for a, b in zip(target.parameters(), model.parameters()):
        assert torch.equal(a, b)


def test_state_dict_round_trip_resumes_exactly():
    model = nn.Linear(4, 4)
    a = ExponentialMovingAverage(model, rate=0.1)
    for _ in range(5):
        a.update(model)
    b = ExponentialMovingAverage(nn.Linear(4, 4), rate=0.1)
    b.load_state_dict(a.state_dict())
    assert int(b.steps) == 5 and all(torch.equal(x, y) for x, y in zip(a.averaged(), b.averaged()))
