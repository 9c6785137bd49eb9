"""Simulated annotators: strategies that do not look at the images score chance; ability is recovered.

Sessions are started the only way they can be, by claiming invitations, with
seeded randomness so the numbers are fixed. The strategies:

* counting: in the feedback arm, answer the kind seen less so far (what beats an
  exactly balanced session: issue 18 measured 57.5% with it);
* random: a fair coin per image;
* known accuracy: right with probability 0.7, whatever the image;
* key harvesting (through HTTP): collect the answers shown as feedback and try
  to start over, with the same code or with guessed ones.
"""

from __future__ import annotations

import random
import time

import pytest

from improved_gan.turing import security
from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.stats import CHANCE, summarize

from turing.study_data import stored_study

SESSIONS, PER_SESSION = 40, 50


@pytest.fixture
def study_store(tmp_path):
    """A study whose store is in memory-backed /dev/shm where there is one."""
    with stored_study(tmp_path, StudyOptions(slug="sim", per_session=PER_SESSION, feedback="on"),
                      100) as opened:
        yield opened


def run_sessions(store, study, strategy, *, seed: int):
    """``strategy(truths_so_far, rng, truth) -> said_generated`` over SESSIONS sessions."""
    rng = random.Random(seed)
    codes = store.add_invitations(study, [None] * SESSIONS, rng=rng)
    kinds = {im.name: im.is_generated for im in store.images(study.id)}
    for code in codes:
        session = store.claim_invitation(study, security.hash_token(code),
                                         token_hash=security.hash_token(security.new_token()),
                                         rng=rng)
        told: list[bool] = []  # the truths the feedback pages showed so far
        while (trial := store.current_trial(session.id)) is not None:
            said = strategy(told, rng, kinds[trial.image_name])
            result = store.record_vote(session.id, trial.position, said_generated=said)
            told.append(result.trial.is_generated)  # the feedback page after the vote
    return summarize(store.votes(study.id), store.images(study.id))


def counting(told, rng, truth):
    generated = sum(told)
    real = len(told) - generated
    return generated < real if generated != real else rng.random() < 0.5


def coin(told, rng, truth):
    return rng.random() < 0.5


def seventy_percent(told, rng, truth):
    return truth if rng.random() < 0.7 else not truth


def contains(interval, value) -> bool:
    return interval[0] <= value <= interval[1]


@pytest.mark.parametrize("strategy", [counting, coin], ids=["counting", "random"])
def test_blind_strategies_score_chance(study_store, strategy):
    store, study = study_store
    group = run_sessions(store, study, strategy, seed=1).groups["all"]
    assert group.accuracy.trials == SESSIONS * PER_SESSION
    assert contains(group.annotator_bootstrap_ci, CHANCE)
    assert contains((group.accuracy.low, group.accuracy.high), CHANCE)
    assert group.p_value_vs_chance > 0.05
    assert contains(group.learning_effect_annotator_ci, 0.0)  # no "learning" from counting
    assert contains(group.learning_effect[1:], 0.0)
    error, low, high = group.hype_infinity
    assert low <= 0.5 <= high


def test_known_accuracy_is_recovered(study_store):
    store, study = study_store
    results = run_sessions(store, study, seventy_percent, seed=2)
    group = results.groups["all"]
    assert contains(group.annotator_bootstrap_ci, 0.7) and not contains(group.annotator_bootstrap_ci, 0.5)
    assert abs(group.accuracy.estimate - 0.7) < 0.03
    assert group.p_value_vs_chance < 1e-6
    error, low, high = group.hype_infinity
    assert low <= 0.3 <= high and error == pytest.approx(1 - group.accuracy.estimate)
    # 70%-right annotators agree with each other: p = 0.7^2 + 0.3^2 = 0.58 per pair,
    # which is above chance agreement, so alpha > 0.
    assert results.agreement_alpha > 0


def test_key_harvesting_gets_nothing_more(make_study, client_for):
    created = make_study(per_session=6, n=12, feedback="on", invitations=1)
    client = client_for(created)
    code = created.code()
    harvester = ScriptedAnnotator(client, created.slug)
    harvester.start(code)
    learned = {}
    while (trial := harvester.current()) is not None:
        location = harvester.vote(trial, "real").headers["location"]
        page = client.get(location).text
        learned[trial.image_name] = "is <strong>generated</strong>" in page
    assert len(learned) == 6  # one session's worth, which it has already answered
    # Starting over: the same code in a fresh browser opens nothing (a code is spent once used).
    client.cookies.clear()
    page = client.get("/s/demo/")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    used = client.post("/s/demo/start", data={"csrf": csrf, "code": code})
    assert used.status_code == 403 and "already used" in used.text
    # Guessed codes open nothing, and after 5 wrong ones this client must wait (429).
    answers = []
    for _ in range(50):
        client.cookies.clear()
        page = client.get("/s/demo/")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        guess = security.new_token()
        answers.append(client.post("/s/demo/start", data={"csrf": csrf, "code": guess}).status_code)
    assert answers == [403] * 5 + [429] * 45
    # A minute later the window starts again; a right code is never throttled once the wait is over.
    client.app.state.clock = lambda: time.time() + 61
    client.cookies.clear()
    page = client.get("/s/demo/")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/s/demo/start", data={"csrf": csrf, "code": security.new_token()}).status_code == 403
