"""Study statistics against counts done by hand, and the exports that carry them."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timezone

import pytest

from improved_gan.turing.config import StudyOptions
from improved_gan.turing.export import images_csv, results_json, results_text, votes_csv
from improved_gan.turing.intervals import wilson_interval
from improved_gan.turing.plots import PLOTS
from improved_gan.turing.stats import learning_curve, summarize
from improved_gan.turing.store import ImageRow, Study, VoteRow

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
IMAGES = [ImageRow(i, f"{i:032x}", i >= 4, f"src[{i}]", None) for i in range(8)]  # 0-3 real


def vote(session, position, image, said_generated, *, feedback=True, n_trials=4, label=None):
    im = IMAGES[image]
    return VoteRow(session, label, feedback, position, n_trials, im.id, im.name, im.is_generated,
                   im.origin, im.score, said_generated, T0)


# Session 1 (feedback): wrong, wrong, right, right.  Session 2 (no feedback): right x3, wrong.
VOTES = [
    vote(1, 0, 4, False), vote(1, 1, 0, True), vote(1, 2, 5, True), vote(1, 3, 1, False),
    vote(2, 0, 4, True, feedback=False, label="p7"), vote(2, 1, 2, False, feedback=False, label="p7"),
    vote(2, 2, 6, True, feedback=False, label="p7"), vote(2, 3, 3, True, feedback=False, label="p7"),
]


def test_group_accuracy_matches_hand_counts():
    results = summarize(VOTES, IMAGES)
    everyone = results.groups["all"]
    assert (everyone.accuracy.successes, everyone.accuracy.trials) == (5, 8)
    assert (everyone.accuracy.low, everyone.accuracy.high) == wilson_interval(5, 8)
    assert (everyone.on_real.successes, everyone.on_real.trials) == (2, 4)
    assert (everyone.on_generated.successes, everyone.on_generated.trials) == (3, 4)
    assert results.groups["with feedback"].accuracy.successes == 2
    assert results.groups["without feedback"].accuracy.successes == 3
    # first half = positions 0-1: 0 + 2 right; second half = positions 2-3: 2 + 1 right
    assert (everyone.first_half.successes, everyone.second_half.successes) == (2, 3)
    d, low, high = everyone.learning_effect
    assert d == pytest.approx(3 / 4 - 2 / 4) and low < d < high
    assert everyone.annotators == 2


def test_annotators():
    rows = summarize(VOTES, IMAGES).annotators
    assert [(a.session_id, a.feedback, a.accuracy.successes, a.finished) for a in rows] == [
        (1, True, 2, True), (2, False, 3, True)]
    assert (rows[0].label, rows[1].label) == (None, "p7")
    assert summarize(VOTES[:3], IMAGES).annotators[0].finished is False


def test_learning_curve_bins():
    rows = [vote(s, p, 4 + p % 4, p >= 5, n_trials=10) for s in (1, 2) for p in range(10)]
    points = learning_curve(rows, bins=5)
    assert [(p.first, p.last) for p in points] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    assert [p.accuracy.successes for p in points] == [0, 0, 2, 4, 4]
    assert all(p.accuracy.trials == 4 for p in points)
    assert [(p.first, p.last) for p in learning_curve(rows, bins=3)] == [(0, 3), (4, 6), (7, 9)]


def test_images_most_misjudged_first():
    images = summarize(VOTES, IMAGES).images
    kinds = [im.is_generated for im in images]
    assert kinds == sorted(kinds, reverse=True)  # generated first
    top = images[0]
    assert top.name == IMAGES[4].name  # called real once of two votes; the rest never
    assert (top.called_real.successes, top.called_real.trials) == (1, 2)
    assert images[3].called_real.trials == 0  # image 7: no votes, last of the generated
    assert math.isnan(images[3].wrong)


def test_empty_study_summarizes():
    results = summarize([], IMAGES)
    assert results.votes == 0 and results.annotators == []
    assert json.dumps(results.to_dict())  # NaN-free JSON
    for render in PLOTS.values():
        assert render(results)[:8] == b"\x89PNG\r\n\x1a\n"


def test_exports():
    study = Study(1, StudyOptions(slug="s", per_session=4), (8, 8, 3), "0" * 64, "0" * 64, T0)
    results = summarize(VOTES, IMAGES)
    rows = list(csv.DictReader(io.StringIO(votes_csv(VOTES))))
    assert len(rows) == 8
    assert rows[0]["kind"] == "generated" and rows[0]["answer"] == "real" and rows[0]["correct"] == "0"
    assert rows[7]["label"] == "p7" and rows[7]["feedback"] == "0"
    image_rows = list(csv.DictReader(io.StringIO(images_csv(results))))
    assert len(image_rows) == 8 and image_rows[0]["votes"] == "2"
    data = json.loads(results_json(study, results))
    assert data["study"]["slug"] == "s"
    assert data["groups"]["all"]["accuracy"]["successes"] == 5
    assert data["groups"]["all"]["accuracy"]["ci95"][0] == pytest.approx(wilson_interval(5, 8)[0], abs=1e-6)
    assert "62.5%" in results_text(study, results)
    for render in PLOTS.values():
        assert render(results)[:8] == b"\x89PNG\r\n\x1a\n"
