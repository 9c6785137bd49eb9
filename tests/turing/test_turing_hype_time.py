"""HYPE-time: the staircase, the modal exposure, exposures stored with votes, thresholds recovered."""

from __future__ import annotations

import math
import warnings

import pytest

from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.create import PoolWarning, create_study
from improved_gan.turing.database import default_url
from improved_gan.turing.export import results_text
from improved_gan.turing.hype_time import (
    LEVELS_MS,
    START_MS,
    STEP_MS,
    modal_exposure,
    next_exposure,
    session_exposure,
)
from improved_gan.turing.stats import summarize_study
from improved_gan.turing.store import Store

from turing.study_data import simulate, study_pools


def test_levels_and_staircase_steps():
    assert LEVELS_MS[0] == 100 and LEVELS_MS[-1] == 1000 and STEP_MS == 50 and len(LEVELS_MS) == 19
    assert next_exposure([]) == START_MS == 500
    assert next_exposure([True, True]) == 500
    assert next_exposure([True, True, True]) == 450  # 3 right in a row: one step down
    assert next_exposure([True, True, False]) == 550  # a wrong answer: one step up
    assert next_exposure([True, True, False, True, True, True]) == 500  # the streak restarts
    assert next_exposure([True] * 300) == 100  # floor
    assert next_exposure([False] * 30) == 1000  # ceiling


def test_modal_exposure():
    assert modal_exposure([]) is None
    assert modal_exposure([300, 350, 300, 400]) == 300
    assert modal_exposure([300, 350, 350, 300]) == 350  # ties: the longer


@pytest.fixture
def timed_study(tmp_path):
    real, generated = study_pools(80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PoolWarning)
        created = create_study(tmp_path / "ht", StudyOptions(slug="ht", per_session=60,
                                                             feedback="off", hype_time=True),
                               real=real, generated=generated)
    store = Store.open(default_url(created.folder))
    yield created, store, store.study("ht")
    store.close()


def step_annotator(threshold_ms):
    """Right whenever the exposure is at least the threshold, a coin below it."""
    def answer(rng, exposure, truth):
        return truth if exposure >= threshold_ms or rng.random() < 0.5 else not truth
    return answer


def logistic_annotator(threshold_ms, slope_ms=30.0):
    """Right with probability 0.5 + 0.5 * sigmoid, equal to 0.794 (3-down/1-up's target) at the threshold."""
    centre = threshold_ms - slope_ms * math.log(0.588 / 0.412)

    def answer(rng, exposure, truth):
        p = 0.5 + 0.5 / (1 + math.exp(-(exposure - centre) / slope_ms))
        return truth if rng.random() < p else not truth
    return answer


def run(store, study, annotators, *, seed):
    """Each annotator through a session, exposures as the server computes them (no browser)."""
    def vote(rng, session, trial, kinds, annotator):
        exposure = session_exposure(study.csrf_key, session.id, store.session_history(session.id))
        said = annotator(rng, exposure, kinds[trial.image_name])
        store.record_vote(session.id, trial.position, said_generated=said,
                          exposure=(exposure, exposure + rng.uniform(-8, 8)))

    return simulate(store, study, annotators, seed=seed, vote=vote)


@pytest.mark.parametrize("threshold", [250, 600])
def test_a_known_threshold_is_recovered_within_one_step(timed_study, threshold):
    created, store, study = timed_study
    ids = run(store, study, [step_annotator(threshold)] * 3 + [logistic_annotator(threshold)] * 10,
              seed=threshold)
    results = summarize_study(store, study)
    h = results.hype_time
    assert h.trials == 13 * 60
    assert abs(h.score_ms - threshold) <= STEP_MS
    for sid in ids[:3]:  # each step annotator alone
        assert abs(h.per_annotator_ms[sid] - threshold) <= STEP_MS
    assert h.displayed_error_ms <= 8
    assert f"HYPE-time (modal exposure" in results_text(study, results)
    assert results.to_dict()["hype_time"]["score_modal_exposure_ms"] == h.score_ms


def test_exposures_are_stored_with_the_vote_through_http(timed_study, client_for):
    created, store, study = timed_study
    [code] = store.add_invitations(study, [None])
    client = client_for(created)
    annotator = ScriptedAnnotator(client, created.slug)
    annotator.start(code)
    page = client.get("/s/ht/trial").text
    assert 'data-exposure-ms="500"' in page and "<canvas" in page and 'id="displayed_ms"' in page
    trial = annotator.current()
    clock = [1000.0]
    client.app.state.clock = lambda: clock[0]
    assert annotator.image(trial).status_code == 200
    assert annotator.image(trial).headers["cache-control"] == "no-store"  # refused, and not cached
    clock[0] += 0.5 + 0.4  # shown 500 ms, then the mask; the vote 400 ms later
    assert annotator.vote(trial, "real", displayed_ms=501.7).status_code == 303
    trial = annotator.current()
    annotator.image(trial)
    clock[0] += 2.0
    annotator.vote(trial, "real", displayed_ms=None)  # no measurement (no script): stored as NULL
    trial = annotator.current()
    clock[0] += 2.0
    annotator.vote(trial, "real")  # the image never asked for
    rows = store.exposures(study.id)
    assert rows[0][2:] == (500, pytest.approx(501.7), 1000.0, 1000.9, "image fetched more than once")
    assert rows[1][2] in (450, 500, 550) and rows[1][3] is None and rows[1][6] == "no display time"
    assert rows[2][4] is None and rows[2][6] == "image never fetched"


def test_untimed_studies_have_no_exposure(tmp_path, client_for):
    real, generated = study_pools(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PoolWarning)
        created = create_study(tmp_path / "u", StudyOptions(slug="demo", per_session=4),
                               real=real, generated=generated)
    store = Store.open(default_url(created.folder))
    [code] = store.add_invitations(store.study("demo"), [None])
    client = client_for(created)
    ScriptedAnnotator(client, "demo").start(code)
    assert "data-exposure-ms" not in client.get("/s/demo/trial").text
    assert summarize_study(store, store.study("demo")).hype_time is None
    store.close()


def test_results_page_shows_the_score_and_the_exclusions(tmp_path, client_for):
    real, generated = study_pools(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PoolWarning)
        created = create_study(tmp_path / "p", StudyOptions(slug="demo", per_session=20,
                                                            hype_time=True, attention_checks=4,
                                                            attention_max_failures=0,
                                                            feedback="off"),
                               real=real, generated=generated)
    store = Store.open(default_url(created.folder))
    study = store.study("demo")

    def vote(rng, session, trial, kinds, careless):  # careless: "real" to everything
        exposure = session_exposure(study.csrf_key, session.id, store.session_history(session.id))
        said = not careless and kinds[trial.image_name]
        store.record_vote(session.id, trial.position, said_generated=said,
                          exposure=(exposure, float(exposure)))

    careful_id, _ = simulate(store, study, [False, True], seed=0, vote=vote)
    score = summarize_study(store, study).hype_time.score_ms
    shown = [r[2] for r in store.exposures(study.id) if r[0] == careful_id]  # checks left out
    store.close()
    page = client_for(created).get("/s/demo/results",
                                   headers={"Authorization": f"Bearer {created.owner_token}"})
    assert page.status_code == 200
    # the careful annotator, always right, goes down 3 answers per level from 500 ms on each of
    # two staircases; the score is the mode of their 20 counted exposures (ties to the longer);
    # the careless one ("real" to all) fails the 3 scrambled checks and is excluded
    assert len(shown) == 20 and score == modal_exposure(shown) and 250 <= score <= 500
    assert f'id="hype-time-score">{score} ms' in page.text
    assert '<span id="n-excluded">1</span> excluded' in page.text
    assert "#2: 3 of 4" in page.text
    assert '<span id="timing-excluded">0</span>' in page.text  # stored without the server's clock
    assert '<span id="n-flagged">0</span>' in page.text
