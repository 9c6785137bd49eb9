"""The tutorial: practice images with their answer before the first counted trial, never stored."""

from __future__ import annotations

import re

from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.database import default_url
from improved_gan.turing.store import Store

from turing.study_data import shown_kinds

TUTORIAL = 4


def practice_truth(created) -> dict[str, bool]:
    store = Store.open(default_url(created.folder))
    try:
        return dict(store.tutorial_images(store.study(created.slug).id))
    finally:
        store.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def image_of(html: str) -> str:
    return re.search(r"/img/([0-9a-f]{32})\.png", html).group(1)


def test_tutorial_comes_first_tells_the_answer_and_stores_nothing(make_study, client_for):
    created = make_study(per_session=6, n=12, feedback="off", tutorial=TUTORIAL)
    stored = practice_truth(created)
    assert len(stored) == TUTORIAL and sum(stored.values()) == TUTORIAL // 2
    client = client_for(created)
    annotator = ScriptedAnnotator(client, created.slug)
    started = annotator.start(created.code())
    practice = shown_kinds(created, annotator.token, practice_only=True)  # this session's tokens
    assert started.headers["location"] == "/s/demo/tutorial/0"
    assert "4 practice images" in client.get("/s/demo/").text  # the start page says so
    seen = []
    for index in range(TUTORIAL):
        page = client.get(f"/s/demo/tutorial/{index}")
        assert page.status_code == 200 and f"Practice image <strong id=\"practice-position\">{index + 1}" in page.text
        name = image_of(page.text)
        seen.append(name)
        answer = "real" if index % 2 else "generated"
        told = client.post(f"/s/demo/tutorial/{index}", data={"csrf": csrf_of(page.text),
                                                             "answer": answer})
        assert told.status_code == 200
        correct = (answer == "generated") == practice[name]
        verdict = " ".join(re.search(r'id="practice-verdict">(.*?)</p>', told.text, re.S).group(1).split())
        assert verdict.startswith("Right" if correct else "Wrong")
        assert f"This image is <strong>{'generated' if practice[name] else 'real'}</strong>" in verdict
        following = "/s/demo/trial" if index == TUTORIAL - 1 else f"/s/demo/tutorial/{index + 1}"
        assert f'href="{following}"' in told.text
    assert sorted(seen) == sorted(practice)
    store = Store.open(default_url(created.folder))
    try:
        study = store.study("demo")
        assert store.votes(study.id) == []  # nothing stored
        assert not set(stored) & {im.name for im in store.images(study.id)}
    finally:
        store.close()
    # The counted trials: none of them is a practice image.
    names = []
    while (trial := annotator.current()) is not None:
        names.append(trial.image_name)
        annotator.vote(trial, "real")
    assert len(names) == 6 and not set(names) & set(practice)
    # Once counted votes exist the tutorial is closed.
    assert client.get("/s/demo/tutorial/0").headers["location"] == "/s/demo/trial"


def test_practice_images_are_never_in_a_session(make_study, client_for):
    created = make_study(per_session=8, n=12, invitations=6, tutorial=TUTORIAL, feedback="on")
    practice = set(practice_truth(created))
    client = client_for(created)
    for _ in range(6):
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        while (trial := annotator.current()) is not None:
            annotator.vote(trial, "generated")
    store = Store.open(default_url(created.folder))
    try:
        shown = {v.image_name for v in store.votes(store.study(created.slug).id)}
    finally:
        store.close()
    assert len(shown) >= 8 and not shown & practice


def test_tutorial_refuses_forged_answers_and_bad_positions(make_study, client_for):
    created = make_study(tutorial=2)
    client = client_for(created)
    ScriptedAnnotator(client, created.slug).start(created.code())
    forged = client.post("/s/demo/tutorial/0", data={"csrf": "x" * 43, "answer": "real"})
    assert forged.status_code == 403
    assert client.get("/s/demo/tutorial/2").headers["location"] == "/s/demo/trial"
    assert client.get(f"/s/demo/tutorial/{2 ** 63}").status_code in (400, 422)


def test_no_tutorial_goes_straight_to_the_trials(make_study, client_for):
    created = make_study()
    client = client_for(created)
    started = ScriptedAnnotator(client, created.slug).start(created.code())
    assert started.headers["location"] == "/s/demo/trial"
    assert client.get("/s/demo/tutorial/0").headers["location"] == "/s/demo/trial"
