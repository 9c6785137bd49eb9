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
    kinds = kinds_of(created)
    client = client_for(created)
    pages: dict[bool, set] = defaultdict(set)
    headers: dict[bool, list] = defaultdict(list)
    for _ in range(16):  # many sessions, so position 0 holds both kinds
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        trial = annotator.current()
        is_generated = kinds[trial.image_name]
        pages[is_generated].add(normalized(trial.html, trial.image_name, trial.csrf))
        headers[is_generated].append(stable_headers(client.get("/s/demo/trial")))
    assert set(pages) == {True, False}
    assert len(pages[True] | pages[False]) == 1  # one page, whatever the image
    assert all(h == headers[True][0] for h in headers[True] + headers[False])


def test_image_responses_are_alike(make_study, client_for):
    created = make_study(n=12)
    kinds = kinds_of(created)
    client = client_for(created)
    seen = {}
    for name in kinds:
        response = client.get(f"/s/demo/img/{name}.png")
        seen[name] = (stable_headers(response), len(response.content))
        assert b"tEXt" not in response.content and b"eXIf" not in response.content
        assert b"tIME" not in response.content and b"iTXt" not in response.content
    assert len({repr(v) for v in seen.values()}) == 1  # same headers and size for all 24


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
    kinds = kinds_of(created)
    client = client_for(created)
    patterns, orders = set(), set()
    for _ in range(8):
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        names = []
        while (trial := annotator.current()) is not None:
            names.append(trial.image_name)
            annotator.vote(trial, "real")
        patterns.add(tuple(kinds[n] for n in names))
        orders.add(tuple(names))
    assert len(orders) == 8 and len(patterns) > 4  # 2^8 = 256 possible kind patterns


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
