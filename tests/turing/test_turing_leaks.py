"""Nothing an annotator's browser receives before voting tells a real image from a generated one.

Each test compares what the server sends for real images with what it sends for
generated ones (the truth read from the store, as only the server knows it).
"""

from __future__ import annotations

import re
from collections import defaultdict

from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.store import Store
from improved_gan.turing.database import default_url

from turing.study_data import shown_kinds

VOLATILE_HEADERS = {"date", "etag", "set-cookie"}


def kinds_of(created) -> dict[str, bool]:
    store = Store.open(default_url(created.folder))
    try:
        return {im.name: im.is_generated for im in store.images(store.study(created.slug).id)}
    finally:
        store.close()


def normalized(html: str, *secrets: str) -> str:
    for value in secrets:
        html = html.replace(value, "<secret>")
    return html


def stable_headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}


def test_trial_pages_differ_only_in_name_and_token(make_study, client_for):
    created = make_study(per_session=4, feedback="off", invitations=16)
    client = client_for(created)
    pages: dict[bool, set] = defaultdict(set)
    headers: dict[bool, list] = defaultdict(list)
    for _ in range(16):  # many sessions, so position 0 holds both kinds
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        trial = annotator.current()
        is_generated = shown_kinds(created, annotator.token)[trial.image_name]
        pages[is_generated].add(normalized(trial.html, trial.image_name, trial.csrf))
        headers[is_generated].append(stable_headers(client.get("/s/demo/trial")))
    assert set(pages) == {True, False}
    assert len(pages[True] | pages[False]) == 1  # one page, whatever the image
    assert all(h == headers[True][0] for h in headers[True] + headers[False])


def test_image_responses_are_alike(make_study, client_for):
    created = make_study(n=12, per_session=12, feedback="off", invitations=2)
    client = client_for(created)
    seen = {}
    for _ in range(2):  # the images under each session's tokens
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        kinds = shown_kinds(created, annotator.token)
        while (trial := annotator.current()) is not None:
            response = annotator.image(trial)
            seen[trial.image_name] = (kinds[trial.image_name], stable_headers(response),
                                      len(response.content))
            assert b"tEXt" not in response.content and b"eXIf" not in response.content
            assert b"tIME" not in response.content and b"iTXt" not in response.content
            annotator.vote(trial, "real")
    assert len(seen) == 24  # two sessions of 12 images, each image under a name of its session
    assert {kind for kind, _, _ in seen.values()} == {True, False}
    assert len({repr(v[1:]) for v in seen.values()}) == 1  # same headers and size for all


def test_vote_answers_do_not_depend_on_the_truth_without_feedback(make_study, client_for):
    created = make_study(per_session=12, n=12, feedback="off")
    client = client_for(created)
    annotator = ScriptedAnnotator(client, created.slug)
    annotator.start(created.code())
    answers = set()
    while (trial := annotator.current()) is not None:
        response = annotator.vote(trial, "real")
        answers.add((response.status_code, repr(stable_headers(response)), response.content))
    assert len(answers) == 1  # right and wrong votes get the same reply


def test_order_is_unpredictable(make_study, client_for):
    created = make_study(per_session=8, n=8, feedback="off")
    client = client_for(created)
    patterns, orders = set(), set()
    for _ in range(8):
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        kinds = shown_kinds(created, annotator.token)
        names = []
        while (trial := annotator.current()) is not None:
            names.append(trial.image_name)
            annotator.vote(trial, "real")
        patterns.add(tuple(kinds[n] for n in names))
        orders.add(tuple(stored_names(created, annotator.token)))
    assert len(orders) == 8 and len(patterns) > 4  # 2^8 = 256 possible kind patterns


def stored_names(created, session_token) -> list[str]:
    """The file names (the server's own) of a session's images, in order."""
    from improved_gan.turing import security

    store = Store.open(default_url(created.folder))
    try:
        session = store.session(store.study(created.slug).id, security.hash_token(session_token))
        return [store.trial_image_name(session.id, p) for p in range(session.n_trials)]
    finally:
        store.close()


def test_one_image_has_another_name_in_every_session(make_study, client_for):
    created = make_study(per_session=12, n=12, feedback="on", invitations=3)
    client = client_for(created)
    names: dict[str, list] = defaultdict(list)  # stored name -> the names sessions saw it under
    for _ in range(3):
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        shown = []
        while (trial := annotator.current()) is not None:
            page = client.get(annotator.vote(trial, "real").headers["location"]).text
            assert f"/img/{trial.image_name}.png" in page  # the feedback page: the same name
            shown.append(trial.image_name)
        for token, name in zip(shown, stored_names(created, annotator.token)):
            names[name].append(token)
    assert sum(len(tokens) > 1 for tokens in names.values()) >= 8  # 36 showings of 24 images
    assert all(len(set(tokens)) == len(tokens) for tokens in names.values())  # never the same name
    assert not set(names) & {t for tokens in names.values() for t in tokens}  # file names never shown


def test_feedback_only_after_the_vote(make_study, client_for):
    created = make_study(per_session=4, feedback="on")
    client = client_for(created)
    annotator = ScriptedAnnotator(client, created.slug)
    annotator.start(created.code())
    trial = annotator.current()
    for position in range(4):
        early = client.get(f"/s/demo/feedback/{position}")
        assert early.status_code == 404
        assert not re.search(r"\b(generated|real)\b</strong>", early.text)
    annotator.vote(trial, "real")
    assert client.get("/s/demo/feedback/0").status_code == 200
    assert client.get("/s/demo/feedback/1").status_code == 404


def test_static_assets_and_cookies_carry_no_answer(make_study, client_for):
    created = make_study(per_session=4, feedback="off")
    kinds = kinds_of(created)
    client = client_for(created)
    annotator = ScriptedAnnotator(client, created.slug)
    annotator.start(created.code())
    for cookie in client.cookies.jar:
        assert not any(name in cookie.value for name in kinds)
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)
    for asset in ("/static/turing.js", "/static/turing.css"):
        body = client.get(asset).text
        assert not any(name in body for name in kinds)
