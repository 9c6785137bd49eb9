"""The store on SQLite and on a real PostgreSQL server: sessions, votes once, durability."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from improved_gan.turing import security
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.store import InvitationUsed, NewImage, Store, VoteStatus


def add_study(store: Store, *, slug="s", n=10, per_session=6, feedback="on"):
    images = [NewImage(security.new_image_name(), i % 2 == 1, f"src[{i}]", float(i))
              for i in range(2 * n)]
    return store.add_study(
        StudyOptions(slug=slug, per_session=per_session, feedback=feedback),
        image_shape=(8, 8, 3), images=images, csrf_key=security.new_key(),
        owner_token_hash=security.hash_token(security.new_token()),
    )


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.close()


def new_session(store, study, label=None, rng=None):
    """An invitation, claimed: the only way a session starts."""
    code = store.add_invitations(study, [label], rng=rng)[0]
    return store.claim_invitation(study, security.hash_token(code),
                                  token_hash=security.hash_token(security.new_token()), rng=rng)


def test_study_round_trip(store):
    study = add_study(store, slug="round-trip", n=4, per_session=4, feedback="random")
    again = store.study("round-trip")
    assert again == study
    assert again.options == StudyOptions(slug="round-trip", per_session=4, feedback="random")
    assert len(store.images(study.id)) == 8
    assert store.study("absent") is None


def test_session_sequence_is_distinct(store):
    study = add_study(store)
    session = new_session(store, study, label="p-01", rng=random.Random(0))
    assert (session.n_trials, session.next_position, session.label) == (6, 0, "p-01")
    kinds = {im.name: im.is_generated for im in store.images(study.id)}
    names = []
    for position in range(6):
        trial = store.current_trial(session.id)
        assert trial.position == position
        names.append(trial.image_name)
        assert store.record_vote(session.id, position, said_generated=True).status is VoteStatus.RECORDED
    assert store.current_trial(session.id) is None
    assert len(set(names)) == 6 and set(names) <= set(kinds)


def test_vote_is_stored_once(store):
    study = add_study(store)
    session = new_session(store, study)
    first = store.record_vote(session.id, 0, said_generated=True)
    again = store.record_vote(session.id, 0, said_generated=False)  # a replay with another answer
    assert first.status is VoteStatus.RECORDED and again.status is VoteStatus.REPLAYED
    assert again.trial == first.trial and again.trial.said_generated is True
    assert store.record_vote(session.id, 3, said_generated=True).status is VoteStatus.OUT_OF_ORDER
    assert store.record_vote(session.id, 6, said_generated=True).status is VoteStatus.NO_SUCH_POSITION
    assert len(store.votes(study.id)) == 1


def test_answered_trial_only_after_the_vote(store):
    study = add_study(store)
    session = new_session(store, study)
    assert store.answered_trial(session.id, 0) is None
    store.record_vote(session.id, 0, said_generated=False)
    trial = store.answered_trial(session.id, 0)
    assert trial.said_generated is False and trial.correct == (not trial.is_generated)


def test_concurrent_duplicates_count_once(store):
    """Twelve threads submit the same position of one session at once: one vote is stored."""
    study = add_study(store)
    session = new_session(store, study)
    barrier = threading.Barrier(12)
    statuses = []

    def submit(i):
        barrier.wait()
        statuses.append(store.record_vote(session.id, 0, said_generated=i % 2 == 0).status)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == {VoteStatus.RECORDED: 1, VoteStatus.REPLAYED: 11}
    assert len(store.votes(study.id)) == 1


def test_concurrent_annotators_lose_no_vote(store):
    study = add_study(store, n=20, per_session=10)
    sessions = [new_session(store, study) for _ in range(8)]

    def annotate(session):
        for position in range(10):
            assert store.record_vote(session.id, position, said_generated=position % 3 == 0).status \
                is VoteStatus.RECORDED

    threads = [threading.Thread(target=annotate, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    votes = store.votes(study.id)
    assert len(votes) == 80
    assert Counter(v.session_id for v in votes) == {s.id: 10 for s in sessions}
    assert all(v.said_generated == (v.position % 3 == 0) for v in votes)


def test_votes_survive_reopening(database_url):
    store = Store.open(database_url)
    study = add_study(store)
    session = new_session(store, study)
    for position in range(3):
        store.record_vote(session.id, position, said_generated=True)
    store.close()
    reopened = Store.open(database_url)
    assert len(reopened.votes(study.id)) == 3
    assert reopened.current_trial(session.id).position == 3
    reopened.close()


def test_exposures_spread_votes_over_images(store):
    study = add_study(store, n=6, per_session=4)  # 6 + 6 images
    for _ in range(6):
        new_session(store, study)
    counts = Counter(t.image_id for t in _all_trials(store, study))
    for is_generated in (False, True):  # within a kind, least shown first: counts differ by <= 1
        shown = [counts.get(im.id, 0) for im in store.images(study.id)
                 if im.is_generated == is_generated]
        assert max(shown) - min(shown) <= 1


def _all_trials(store, study, session_id=None):
    from sqlalchemy import select

    from improved_gan.turing import schema

    query = (select(schema.trials.c.image_id)
             .join(schema.sessions, schema.sessions.c.id == schema.trials.c.session_id)
             .where(schema.sessions.c.study_id == study.id))
    if session_id is not None:
        query = query.where(schema.trials.c.session_id == session_id)
    with store.engine.connect() as conn:
        return conn.execute(query).all()


def test_feedback_arms_stay_level_and_fixed_by_the_invitation(store):
    study = add_study(store, feedback="random")
    codes = store.add_invitations(study, [None] * 10)
    sessions = [store.claim_invitation(study, security.hash_token(c),
                                       token_hash=security.hash_token(security.new_token()))
                for c in codes]
    assert Counter(s.feedback for s in sessions) == {True: 5, False: 5}
    # The same code again (another browser, or whoever saw the code): refused, the session
    # stays with the browser that opened it.
    store.record_vote(sessions[0].id, 0, said_generated=True)
    token = security.new_token()
    with pytest.raises(InvitationUsed):
        store.claim_invitation(study, security.hash_token(codes[0]), token_hash=security.hash_token(token))
    assert store.session(study.id, security.hash_token(token)) is None
    assert store.claim_invitation(study, "0" * 64, token_hash="1" * 64) is None
    assert store.invitation_counts(study.id) == (10, 10)


def test_each_feedback_arm_draws_from_its_own_images(store):
    study = add_study(store, feedback="random", n=12, per_session=5)
    codes = store.add_invitations(study, [None] * 20)
    shown = {True: set(), False: set()}
    for code in codes:
        session = store.claim_invitation(study, security.hash_token(code),
                                         token_hash=security.hash_token(security.new_token()))
        shown[session.feedback] |= {row.image_id for row in _all_trials(store, study, session.id)}
    assert len(shown[True]) == 12 and len(shown[False]) == 12  # each arm: half of each kind
    assert not shown[True] & shown[False]  # a kind told in the feedback arm is never asked without


def test_remove_study_and_owner_logouts(store):
    study = add_study(store, slug="gone")
    kept = add_study(store, slug="kept")
    session = new_session(store, study)
    store.record_vote(session.id, 0, said_generated=True)
    store.revoke_owner_cookie(study.id, "a" * 64)
    store.revoke_owner_cookie(study.id, "a" * 64)  # twice is once
    assert store.owner_cookie_revoked(study.id, "a" * 64)
    assert not store.owner_cookie_revoked(kept.id, "a" * 64)
    store.remove_study(study.id)
    assert store.study("gone") is None and store.study("kept") is not None
    assert store.images(study.id) == [] and store.votes(study.id) == []
    assert len(store.images(kept.id)) == 20


def test_owner_token_rotation(store):
    study = add_study(store)
    store.set_owner_token_hash(study.id, "0" * 64)
    assert store.study("s").owner_token_hash == "0" * 64
