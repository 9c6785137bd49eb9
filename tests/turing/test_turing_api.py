"""The server's HTTP interface through the ASGI test client: flows, refusals, validation, owner."""

from __future__ import annotations

import re

import pytest

from improved_gan.turing import security
from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.store import Store

from turing.study_data import shown_kinds


def truth(created, database_url=None):
    """Image name -> is generated, read from the store (what the server must not reveal)."""
    from improved_gan.turing.database import default_url

    store = Store.open(database_url or default_url(created.folder))
    try:
        return {im.name: im.is_generated for im in store.images(store.study(created.slug).id)}
    finally:
        store.close()


def test_flow_with_feedback(make_study, client_for):
    created = make_study(per_session=6, feedback="on")
    annotator = ScriptedAnnotator(client_for(created), created.slug)
    annotator.start(created.code())
    kinds = shown_kinds(created, annotator.token)
    for position in range(6):
        trial = annotator.current()
        assert trial.position == position
        answer = "generated" if position % 2 else "real"
        response = annotator.vote(trial, answer)
        assert response.status_code == 303
        assert response.headers["location"] == f"/s/demo/feedback/{position}"
        assert response.headers["x-turing-vote"] == "recorded"
        page = annotator.client.get(response.headers["location"])
        right = (answer == "generated") == kinds[trial.image_name]
        verdict = re.search(r'id="verdict">\s*(\w+)', page.text).group(1)
        assert verdict == ("Right" if right else "Wrong")
        assert f"img/{trial.image_name}.png" in page.text
    assert annotator.current() is None
    summary = annotator.client.get("/s/demo/summary")
    assert summary.status_code == 200 and "<strong>6</strong> images" in summary.text


def test_flow_without_feedback(make_study, client_for):
    created = make_study(per_session=4, feedback="off")
    annotator = ScriptedAnnotator(client_for(created), created.slug)
    annotator.start(created.code())
    trial = annotator.current()
    response = annotator.vote(trial, "real")
    assert response.headers["location"] == "/s/demo/trial"
    assert annotator.client.get("/s/demo/feedback/0").status_code == 404
    assert annotator.client.get("/s/demo/summary").headers["location"] == "/s/demo/trial"


def test_replayed_and_double_clicked_votes_count_once(make_study, client_for):
    created = make_study(per_session=4, feedback="off")
    annotator = ScriptedAnnotator(client_for(created), created.slug)
    annotator.start(created.code())
    trial = annotator.current()
    first = annotator.vote(trial, "real")
    replay = annotator.vote(trial, "generated")  # the same form submitted again, other button
    assert first.headers["x-turing-vote"] == "recorded"
    assert replay.status_code == 303 and replay.headers["x-turing-vote"] == "replayed"
    assert annotator.current().position == 1
    owner = annotator.client.get("/s/demo/results/votes.csv",
                                 headers={"Authorization": f"Bearer {created.owner_token}"})
    lines = owner.text.strip().splitlines()
    assert len(lines) == 2 and ",real," in lines[1]


def test_vote_for_a_later_image_is_refused(make_study, client_for):
    created = make_study(per_session=4)
    annotator = ScriptedAnnotator(client_for(created), created.slug)
    annotator.start(created.code())
    trial = annotator.current()
    later = type(trial)(3, trial.image_name, trial.csrf, "")
    assert annotator.vote(later, "real").status_code == 409
    beyond = type(trial)(4, trial.image_name, trial.csrf, "")
    assert annotator.vote(beyond, "real").status_code == 404
    assert annotator.current().position == 0


def test_forged_or_sessionless_votes_are_refused(make_study, client_for):
    created = make_study()
    client = client_for(created)
    alice = ScriptedAnnotator(client, created.slug)
    alice.start(created.code())
    trial = alice.current()
    data = {"csrf": trial.csrf, "position": "0", "answer": "real"}
    assert client.post("/s/demo/vote", data={**data, "csrf": "x" * 43}).status_code == 403
    assert client.post("/s/demo/vote", data=data,
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    alice_token = alice.token
    client.cookies.clear()
    assert client.post("/s/demo/vote", data=data).status_code == 403  # no session cookie
    bob = ScriptedAnnotator(client, created.slug)
    bob.start(created.code())
    assert bob.token != alice_token
    assert client.post("/s/demo/vote", data=data).status_code == 403  # Alice's token, Bob's session
    client.cookies.set("ig_session", alice_token, path="/s/demo/")
    assert client.post("/s/demo/vote", data=data).status_code == 303


def test_start_needs_a_genuine_form_and_an_invitation(make_study, client_for):
    created = make_study()
    client = client_for(created)
    code = created.code()
    assert client.post("/s/demo/start", data={"csrf": "abc", "code": code}).status_code == 403
    page = client.get("/s/demo/", params={"code": code})
    assert f'value="{code}"' in page.text  # the invitation link fills the code in
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert client.post("/s/demo/start", data={"csrf": csrf, "code": code},
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/s/demo/start", data={"csrf": csrf}).status_code == 400  # no code
    unknown = client.post("/s/demo/start", data={"csrf": csrf, "code": "A" * 43})
    assert unknown.status_code == 403 and "Unknown invitation code" in unknown.text
    assert client.post("/s/demo/start", data={"csrf": csrf, "code": code}).status_code == 303
    again = client.post("/s/demo/start", data={"csrf": csrf, "code": code})  # double click
    assert again.headers["location"] == "/s/demo/trial"


@pytest.mark.parametrize("field,value", [
    ("answer", "maybe"), ("answer", ""), ("position", "-1"), ("position", "abc"),
    ("position", "100000"), ("csrf", "x" * 65),
])
def test_invalid_vote_fields(make_study, client_for, field, value):
    created = make_study()
    annotator = ScriptedAnnotator(client_for(created), created.slug)
    annotator.start(created.code())
    trial = annotator.current()
    data = {"csrf": trial.csrf, "position": "0", "answer": "real", field: value}
    response = annotator.client.post("/s/demo/vote", data=data)
    assert response.status_code == 400 and field in response.text
    assert annotator.current().position == 0


def test_invalid_label_and_oversized_or_unsized_bodies(make_study, client_for):
    created = make_study()
    client = client_for(created)
    page = client.get("/s/demo/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert client.post("/s/demo/start", data={"csrf": csrf, "code": "<script>"}).status_code == 400
    assert client.post("/s/demo/start", data={"csrf": csrf, "code": "x" * 65}).status_code == 400
    assert client.post("/s/demo/start", data={"csrf": csrf, "pad": "x" * 9000}).status_code == 413
    chunked = client.post("/s/demo/start", content=iter([b"csrf=abc"]),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert chunked.status_code == 411


def test_owner_pages_refuse_missing_or_wrong_token(make_study, client_for):
    created = make_study()
    client = client_for(created)
    wrong = security.new_token()
    for path in ("results", "results/votes.csv", "results/images.csv", "results/results.json",
                 "results/plots/accuracy.png"):
        assert client.get(f"/s/demo/{path}").status_code == 401, path
        assert client.get(f"/s/demo/{path}", headers={"Authorization": f"Bearer {wrong}"}).status_code == 403
        assert client.get(f"/s/demo/{path}", headers={"Authorization": "Basic abc"}).status_code == 403
        client.cookies.set("ig_owner", "9999999999.forged", path="/s/demo/")
        assert client.get(f"/s/demo/{path}").status_code == 403
        client.cookies.clear()
        ok = client.get(f"/s/demo/{path}", headers={"Authorization": f"Bearer {created.owner_token}"})
        assert ok.status_code == 200, path
    refused = client.get("/s/demo/results").text
    assert 'name="token"' in refused and 'id="n-votes"' not in refused  # a login form, no results


def test_owner_login_cookie_logout_and_rotation(make_study, client_for):
    created = make_study()
    client = client_for(created)
    page = client.get("/s/demo/owner")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    bad = client.post("/s/demo/owner", data={"csrf": csrf, "token": security.new_token()})
    assert bad.status_code == 403 and "not this study" in bad.text
    assert client.post("/s/demo/owner", data={"csrf": "forged", "token": created.owner_token}).status_code == 403
    good = client.post("/s/demo/owner", data={"csrf": csrf, "token": created.owner_token})
    assert good.status_code == 303 and "SameSite=strict" in good.headers["set-cookie"]
    results = client.get("/s/demo/results")
    assert results.status_code == 200 and 'id="groups"' in results.text
    assert client.get("/s/demo/owner").headers["location"] == "/s/demo/results"
    logout_csrf = re.search(r'name="csrf" value="([^"]+)"', results.text).group(1)
    assert client.post("/s/demo/owner/logout", data={"csrf": "no"}).status_code == 403
    cookie = client.cookies.get("ig_owner")
    assert client.post("/s/demo/owner/logout", data={"csrf": logout_csrf}).status_code == 303
    assert client.get("/s/demo/results").status_code == 401
    client.cookies.set("ig_owner", cookie, path="/s/demo/")  # a copy kept from before the logout
    assert client.get("/s/demo/results").status_code == 403
    client.cookies.clear()
    page = client.get("/s/demo/owner")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    # Logging in again, then rotating the token, voids the cookie.
    client.post("/s/demo/owner", data={"csrf": csrf, "token": created.owner_token})
    assert client.get("/s/demo/results").status_code == 200
    served = client.app.state.studies["demo"]
    served.store.set_owner_token_hash(served.study.id, security.hash_token(security.new_token()))
    assert client.get("/s/demo/results").status_code == 403


def test_owner_of_one_study_cannot_read_another(make_study, client_for):
    one, two = make_study("one"), make_study("two")
    client = client_for(one, two)
    bearer = {"Authorization": f"Bearer {one.owner_token}"}
    assert client.get("/s/one/results/results.json", headers=bearer).status_code == 200
    assert client.get("/s/two/results/results.json", headers=bearer).status_code == 403
    served = client.app.state.studies
    forged = served["one"].owner_cookie_value(served["one"].study)
    client.cookies.set("ig_owner", forged, path="/s/two/")
    assert client.get("/s/two/results").status_code == 403


def test_results_reflect_votes(make_study, client_for):
    created = make_study(per_session=4, feedback="random", invitations=2)  # one in each arm
    client = client_for(created)
    for _ in range(2):
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(created.code())
        while (trial := annotator.current()) is not None:
            annotator.vote(trial, "generated")
    bearer = {"Authorization": f"Bearer {created.owner_token}"}
    data = client.get("/s/demo/results/results.json", headers=bearer).json()
    assert data["votes"] == 8 and len(data["annotators"]) == 2
    shown_generated = sum(row.split(",")[5] == "generated" for row in client.get(
        "/s/demo/results/votes.csv", headers=bearer).text.strip().splitlines()[1:])
    assert data["groups"]["all"]["accuracy"]["successes"] == shown_generated  # "generated" right
    assert data["groups"]["all"]["accuracy_on_generated"]["estimate"] in (1.0, None)
    assert data["chance"] == 0.5 and data["groups"]["all"]["chance"] == 0.5
    assert {a["feedback"] for a in data["annotators"]} == {True, False}  # arms kept level
    page = client.get("/s/demo/results", headers=bearer)
    assert re.search(r'id="n-votes">8<', page.text)
    export = client.get("/s/demo/results/votes.csv", headers=bearer)
    assert export.headers["content-disposition"] == 'attachment; filename="demo-votes.csv"'


def test_images_only_under_this_sessions_tokens(make_study, client_for):
    created = make_study(feedback="off")
    client = client_for(created)
    alice = ScriptedAnnotator(client, created.slug)
    alice.start(created.code())
    trial = alice.current()
    response = alice.image(trial)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "private, max-age=3600"
    assert "etag" not in response.headers and "last-modified" not in response.headers
    assert alice.image(trial).status_code == 200  # a reload of an untimed trial
    stored = next(iter(client.app.state.studies["demo"].image_names))
    for bad in (f"{stored}.png", "0" * 32 + ".png", f"{trial.image_name}.jpg",
                f"{trial.image_name.upper()}.png", "..%2Fstudy.json", "%2E%2E%2Fturing.sqlite3"):
        assert client.get(f"/s/demo/img/{bad}").status_code == 404, bad  # file names are never served
    alice.vote(trial, "real")
    assert alice.image(trial).status_code == 404  # answered, no feedback: gone
    alice_token = alice.token
    client.cookies.clear()
    assert alice.image(trial).status_code == 404  # no session: nothing
    bob = ScriptedAnnotator(client, created.slug)
    bob.start(created.code())
    bobs = bob.current()
    client.cookies.set("ig_session", alice_token, path="/s/demo/")
    assert client.get(f"/s/demo/img/{bobs.image_name}.png").status_code == 404  # Bob's, not Alice's
    bearer = {"Authorization": f"Bearer {created.owner_token}"}
    assert client.get(f"/s/demo/results/img/{stored}.png", headers=bearer).status_code == 200
    assert client.get(f"/s/demo/results/img/{stored}.png").status_code == 401  # the owner's only


def test_headers_pages_and_unknown_addresses(make_study, client_for):
    created = make_study()
    client = client_for(created)
    page = client.get("/s/demo/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "server" not in page.headers or "uvicorn" not in page.headers["server"]
    assert client.get("/s/demo").status_code in (307, 308)
    for path in ("/s/absent/", "/docs", "/openapi.json", "/s/demo/study.json",
                 "/s/demo/turing.sqlite3", "/static/../turing.sqlite3"):
        assert client.get(path).status_code == 404, path
    assert client.get("/healthz").text == "ok\n"
    assert client.get("/static/turing.js").status_code == 200
