"""A real uvicorn server on loopback: concurrent annotators lose no vote, restarts keep them."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from improved_gan.turing import security
from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.database import default_url
from improved_gan.turing.store import Store


def stored_votes(created, database_url=None) -> Counter:
    """Votes per token hash, read from the store directly."""
    store = Store.open(database_url or default_url(created.folder))
    try:
        study = store.study(created.slug)
        votes = store.votes(study.id)
        from sqlalchemy import select

        from improved_gan.turing import schema

        with store.engine.connect() as conn:
            hashes = dict(conn.execute(select(schema.sessions.c.id, schema.sessions.c.token_hash)).all())
        return Counter(hashes[v.session_id] for v in votes)
    finally:
        store.close()


def run_annotators(url: str, slug: str, codes: list[str], votes_each: int) -> Counter:
    """One annotator per invitation code, in threads, each voting ``votes_each`` times.

    Returns the acknowledged votes per session token.
    """
    acknowledged: Counter = Counter()
    lock = threading.Lock()
    errors = []

    def annotate(code):
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                annotator = ScriptedAnnotator(client, slug)
                annotator.start(code)
                for _ in range(votes_each):
                    trial = annotator.current()
                    if annotator.vote(trial, "generated").status_code == 303:
                        with lock:
                            acknowledged[security.hash_token(annotator.token)] += 1
        except Exception as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=annotate, args=(code,)) for code in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    return acknowledged


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_annotators_lose_no_vote(backend, make_study, live_server, request):
    database_url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    created = make_study(per_session=10, n=10, database_url=database_url, invitations=20)
    server = live_server(created, database_url)
    acknowledged = run_annotators(server.url, created.slug, created.codes, votes_each=10)
    assert sum(acknowledged.values()) == 200
    assert stored_votes(created, database_url) == acknowledged


def test_restart_keeps_votes_and_sessions(make_study, live_server):
    created = make_study(per_session=6, feedback="off")
    server = live_server(created)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        for _ in range(3):
            assert annotator.vote(annotator.current(), "real").status_code == 303
        server.stop()
        server.start()  # same port, same study folder, a fresh process state
        trial = annotator.current()  # the cookie still names the session
        assert trial.position == 3
        assert annotator.vote(trial, "real").status_code == 303
    assert stored_votes(created) == Counter({security.hash_token(annotator.token): 4})
