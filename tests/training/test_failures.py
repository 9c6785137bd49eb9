"""The one failure definition (runs/failures.py): its boundaries, and the runs it was derived from."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from improved_gan.runs.failures import (
    FROM_EPOCH,
    UNSUP_FLOOR,
    Failure,
    detect_failure,
    failure_reasons,
    plays_the_game,
    run_failure,
)
from improved_gan.semi_supervised import least_unsupervised_loss, unsupervised_loss

RUNS = Path(__file__).resolve().parents[2] / "docs" / "runs"


def rows(unsup, *, loss_g=1.0, errors=100):
    """Metrics rows with ``unsup[i]`` as epoch i + 1's loss_unsup."""
    return [{"epoch": e + 1, "loss_unsup": u, "loss_g": loss_g, "test_errors": errors} for e, u in enumerate(unsup)]


def test_the_first_epoch_from_five_below_the_floor_is_the_failure():
    history = rows([0.3] * 6 + [0.04, 0.2, 0.01])
    failure = detect_failure(history)
    assert failure == Failure(epoch=7, loss_unsup=0.04, loss_g=1.0)


def test_epochs_before_five_and_the_floor_itself_are_not_failures():
    assert FROM_EPOCH == 5 and UNSUP_FLOOR == 0.05
    assert detect_failure(rows([0.001] * (FROM_EPOCH - 1) + [0.3] * 5)) is None  # early dips are not counted
    assert detect_failure(rows([0.3] * 4 + [UNSUP_FLOOR] * 5)) is None  # below, not at
    assert detect_failure(rows([0.3] * 4 + [0.0499])).epoch == FROM_EPOCH


def test_rows_without_the_unsupervised_loss_never_fail():
    assert detect_failure([{"epoch": e, "loss_d": 0.0} for e in range(1, 20)]) is None


def test_the_message_names_the_epoch_and_both_losses():
    failure = Failure(epoch=12, loss_unsup=0.0071, loss_g=7.93)
    assert failure.describe() == "D overpowered G at epoch 12: loss_unsup 0.0071, feature matching 7.93"
    assert "G's loss" in Failure(3, 0.01, 2.0, "non-saturating").describe()
    assert Failure.from_dict(json.loads(json.dumps(failure.to_dict()))) == failure


def test_a_classifier_on_labels_alone_does_not_play_the_game():
    assert plays_the_game(SimpleNamespace(mode="semi-supervised", unsupervised_weight=1.0))
    assert plays_the_game(SimpleNamespace(mode="gan", unsupervised_weight=1.0))
    assert not plays_the_game(SimpleNamespace(mode="semi-supervised", unsupervised_weight=0.0))
    assert not plays_the_game(SimpleNamespace(mode="supervised", unsupervised_weight=1.0))


GAME = SimpleNamespace(mode="semi-supervised", unsupervised_weight=1.0, generator_loss="feature-matching",
                       real_target=1.0)


def test_among_seeds_a_run_also_fails_far_above_the_median():
    healthy = rows([0.4] * 10)
    assert failure_reasons(GAME, healthy, errors_key="test_errors", median_errors=100, at_epoch=10) == []
    collapsed = rows([0.4] * 6 + [0.03] * 4)
    assert failure_reasons(GAME, collapsed, errors_key="test_errors", median_errors=100, at_epoch=10) == [
        "D overpowered G at epoch 7: loss_unsup 0.0300, feature matching 1"
    ]
    behind = rows([0.4] * 10, errors=201)
    assert failure_reasons(GAME, behind, errors_key="test_errors", median_errors=100, at_epoch=10) == [
        "201 errors > 2 x median 100"
    ]
    assert failure_reasons(GAME, behind, errors_key="test_errors", median_errors=101, at_epoch=10) == []


# The runs the definition was derived from (docs/stability.md, "The failure definition"): it must catch every
# known failure and no healthy run. Their metrics are committed under docs/runs/.
FAILED_RUNS = ["cpu-protocol-ref-s2", "cpu-protocol-s0", "cpu-adam-torch", "gpu-mnist-fm-s0", "gpu-mnist-fm-s1",
               "gpu-mnist-fm-s2"]
HEALTHY_RUNS = ["cpu-protocol-ref-s0", "cpu-protocol-ref-s1", "cpu-protocol-fast-s1", "cpu-protocol-fast-s2",
                "cpu-protocol-fp32-s0", "cpu-adam-authors", "cpu-adam-authors-resumed", "cpu-fast-salted-s0",
                "cpu-fast-torchops-s0", "gpu-cifar10-fm", "cpu-cifar10-fm"]


def _metrics(name: str) -> list[dict]:
    return [json.loads(line) for line in (RUNS / name / "metrics.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", FAILED_RUNS)
def test_every_known_failure_is_caught(name):
    assert detect_failure(_metrics(name)) is not None


@pytest.mark.parametrize("name", HEALTHY_RUNS)
def test_no_healthy_run_is_called_failed(name):
    assert detect_failure(_metrics(name)) is None


def _least_by_search(alpha: float) -> float:
    """The unsupervised loss's least value found by brute force: D's realness s on a fine grid, the real term
    -alpha log sigma(s) - (1 - alpha) log(1 - sigma(s)) at its smallest, the generated term -> 0, halves."""
    s = torch.linspace(-30, 30, 600_001, dtype=torch.float64)
    real = -alpha * torch.nn.functional.logsigmoid(s) - (1 - alpha) * torch.nn.functional.logsigmoid(-s)
    return 0.5 * float(real.min())


@pytest.mark.parametrize("alpha", [1.0, 0.9, 0.75, 0.5])
def test_the_least_unsupervised_loss_is_the_one_found_by_search(alpha):
    assert least_unsupervised_loss(alpha) == pytest.approx(_least_by_search(alpha), abs=1e-9)


def test_a_perfect_discriminator_reaches_the_least_loss_under_smoothing():
    # D puts every real digit at realness log(alpha / (1 - alpha)) (D(x) = alpha) and every generated one far below
    alpha = 0.9
    logits_unl = torch.full((8, 10), math.log(alpha / (1 - alpha)) - math.log(10), dtype=torch.float64)
    logits_gen = torch.full((8, 10), -40.0, dtype=torch.float64)
    loss = float(unsupervised_loss(logits_unl, logits_gen, real_target=alpha))
    assert loss == pytest.approx(least_unsupervised_loss(alpha), abs=1e-12)


def test_under_label_smoothing_the_floor_is_measured_from_the_least_loss():
    least = least_unsupervised_loss(0.9)  # 0.1625
    # a smoothed run whose loss sits 0.01 above its least value: D has won, though loss_unsup is 0.17
    won = rows([0.33] * 6 + [least + 0.01] * 3)
    failure = detect_failure(won, real_target=0.9)
    assert failure is not None and failure.epoch == 7
    assert failure.describe() == "D overpowered G at epoch 7: loss_unsup 0.1725 (0.0100 above its least, 0.1625), " \
                                 "feature matching 1"
    assert Failure.from_dict(json.loads(json.dumps(failure.to_dict()))) == failure
    # the same rows read as an unsmoothed run are healthy (0.17 > 0.05): the target decides
    assert detect_failure(won) is None
    assert detect_failure(rows([0.33] * 6 + [least + 0.0501] * 3), real_target=0.9) is None


def test_run_failure_reads_the_target_from_the_config():
    smoothed = SimpleNamespace(**{**vars(GAME), "real_target": 0.9})
    won = rows([0.33] * 6 + [0.17] * 3)
    assert run_failure(smoothed, won).epoch == 7
    assert run_failure(GAME, won) is None
    assert failure_reasons(smoothed, won, errors_key="test_errors", median_errors=100, at_epoch=9) == [
        "D overpowered G at epoch 7: loss_unsup 0.1700 (0.0075 above its least, 0.1625), feature matching 1"
    ]
