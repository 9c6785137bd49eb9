"""The one failure definition (training/failures.py): its boundaries, and the runs it was derived from."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from improved_gan.training.failures import (
    FROM_EPOCH,
    UNSUP_FLOOR,
    Failure,
    detect_failure,
    failure_reasons,
    plays_the_game,
)

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


def test_among_seeds_a_run_also_fails_far_above_the_median():
    healthy = rows([0.4] * 10)
    assert failure_reasons(healthy, errors_key="test_errors", median_errors=100, at_epoch=10) == []
    collapsed = rows([0.4] * 6 + [0.03] * 4)
    assert failure_reasons(collapsed, errors_key="test_errors", median_errors=100, at_epoch=10) == [
        "D overpowered G at epoch 7: loss_unsup 0.0300, feature matching 1"
    ]
    behind = rows([0.4] * 10, errors=201)
    assert failure_reasons(behind, errors_key="test_errors", median_errors=100, at_epoch=10) == [
        "201 errors > 2 x median 100"
    ]
    assert failure_reasons(behind, errors_key="test_errors", median_errors=101, at_epoch=10) == []


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
