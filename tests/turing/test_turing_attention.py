"""Attention checks: known-answer trials that exclude careless annotators, never counted.

Simulated annotators run through the store (seeded): a careful one looks at the
image (a flat grey square is a check, answered "generated" as the instructions
say; otherwise right with probability 0.7), a careless one clicks at random.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from PIL import Image

from improved_gan.turing import attention
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.create import PoolWarning, create_study
from improved_gan.turing.database import default_url
from improved_gan.turing.export import results_text, votes_csv
from improved_gan.turing.stats import summarize_study
from improved_gan.turing.store import Store

from turing.study_data import simulate, study_pools

PER_SESSION, CHECKS, MAX_FAILURES = 20, 6, 1


@pytest.fixture
def checked_study(tmp_path):
    real, generated = study_pools(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PoolWarning)
        created = create_study(
            tmp_path / "att",
            StudyOptions(slug="att", per_session=PER_SESSION, feedback="on",
                         attention_checks=CHECKS, attention_max_failures=MAX_FAILURES),
            real=real, generated=generated)
    store = Store.open(default_url(created.folder))
    yield created, store, store.study("att")
    store.close()


def is_flat(folder, name) -> bool:
    pixels = np.asarray(Image.open(folder / "images" / f"{name}.png"))
    return bool((pixels == pixels.flat[0]).all())


def careful(rng, truth, flat):
    if flat:
        return True  # "plain grey squares: answer Generated"
    return truth if rng.random() < 0.7 else not truth


def careless(rng, truth, flat):
    return rng.random() < 0.5


def run(created, store, study, strategies, *, seed):
    """One session per strategy; returns the session ids in the same order."""
    def vote(rng, session, trial, kinds, strategy):
        flat = is_flat(created.folder, trial.image_name)
        said = strategy(rng, kinds.get(trial.image_name, True), flat)
        store.record_vote(session.id, trial.position, said_generated=said)

    return simulate(store, study, strategies, seed=seed, vote=vote)


def test_check_images_are_flat_distinct_and_inserted_at_random_positions():
    images = attention.check_images(6, (8, 8, 3))
    assert images.shape == (6, 8, 8, 3) and images.dtype == np.uint8
    assert len({int(im.flat[0]) for im in images}) == 6
    assert all((im == im.flat[0]).all() for im in images)
    rng = random.Random(0)
    placed = [attention.insert_checks(list(range(10)), [100, 101, 102], rng) for _ in range(200)]
    for seq in placed:
        assert [x for x in seq if x < 100] == list(range(10))  # counted order kept
        assert sorted(x for x in seq if x >= 100) == [100, 101, 102]
    first_check = {seq.index(next(x for x in seq if x >= 100)) for seq in placed}
    assert len(first_check) > 3  # positions vary


def test_sessions_hold_each_check_once_and_study_images_exclude_them(checked_study):
    created, store, study = checked_study
    assert study.options.attention_checks == CHECKS
    assert study.options.attention_max_failures == MAX_FAILURES
    assert len(store.images(study.id)) == 120  # the checks are not study images
    assert len(store.image_names(study.id)) == 120 + CHECKS  # but they are served
    [sid] = run(created, store, study, [careful], seed=0)
    votes = store.votes(study.id)
    assert len(votes) == PER_SESSION + CHECKS
    checks = [v for v in votes if v.attention]
    assert len(checks) == CHECKS and len({v.image_id for v in checks}) == CHECKS
    assert all(v.is_generated and v.origin.startswith("attention:grey ") for v in checks)
    assert all(is_flat(created.folder, v.image_name) for v in checks)
    assert not any(is_flat(created.folder, v.image_name) for v in votes if not v.attention)
    assert len(store.session_votes(sid)) == PER_SESSION  # the annotator's own score: counted only
    rows = votes_csv(votes).splitlines()
    assert rows[0].endswith(",attention_check")
    assert sum(r.endswith(",1") for r in rows[1:]) == CHECKS


def test_careless_annotators_are_excluded_careful_ones_are_not(checked_study):
    created, store, study = checked_study
    strategies = [careful, careless] * 20
    ids = run(created, store, study, strategies, seed=3)
    results = summarize_study(store, study)
    att = results.attention
    assert att.checks_per_session == CHECKS and att.annotators_checked == 40
    careful_ids = set(ids[0::2])
    careless_ids = set(ids[1::2])
    assert not careful_ids & set(att.failures)  # no careful annotator excluded
    # A random clicker passes with probability 7/64 (at most 1 of 6 wrong): expect ~18 of 20.
    assert len(careless_ids & set(att.failures)) >= 15
    for failed, answered in att.failures.values():
        assert failed > MAX_FAILURES and answered == CHECKS
    # Excluded annotators are in no statistic; checks are in none either.
    kept = {a.session_id for a in results.annotators}
    assert kept == set(ids) - set(att.failures)
    group = results.groups["all"]
    assert group.accuracy.trials == PER_SESSION * len(kept)
    assert sum(im.called_real.trials for im in results.images) == PER_SESSION * len(kept)
    d = results.to_dict()["attention_checks"]
    assert d["excluded"] == att.excluded and d["max_failures"] == MAX_FAILURES
    assert "failed more than 1 of the 6 attention checks" in d["reason"]
    text = results_text(study, results)
    assert f"{att.excluded} excluded from every statistic" in text


def test_only_careful_annotators_all_kept_and_their_accuracy_recovered(checked_study):
    created, store, study = checked_study
    ids = run(created, store, study, [careful] * 30, seed=4)
    results = summarize_study(store, study)
    assert results.attention.excluded == 0 and results.attention.annotators_checked == 30
    group = results.groups["all"]
    assert group.accuracy.trials == 30 * PER_SESSION
    low, high = group.annotator_bootstrap_ci
    assert low <= 0.7 <= high and low > 0.5


def test_random_clickers_fail_at_the_stated_rate(checked_study):
    created, store, study = checked_study
    run(created, store, study, [careless] * 40, seed=5)
    att = summarize_study(store, study).attention
    # expected 40 * 57/64 = 35.6 excluded (sd 2.0)
    assert 30 <= att.excluded <= 40
    assert summarize_study(store, study).groups["all"].annotators == 40 - att.excluded


def test_the_start_page_explains_the_checks(tmp_path, client_for):
    real, generated = study_pools(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PoolWarning)
        created = create_study(tmp_path / "s", StudyOptions(slug="demo", per_session=6,
                                                            attention_checks=2),
                               real=real, generated=generated)
    page = client_for(created).get("/s/demo/").text
    assert "plain grey squares" in page and "<strong>8 images</strong>" in page
