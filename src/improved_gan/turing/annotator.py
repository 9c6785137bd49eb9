"""The annotator's pages: start, one image at a time, feedback, summary; and the images.

Flow (Post/Redirect/Get, so reloading or going back never submits twice)::

    GET  /s/<slug>/#code=<code>     start page (instructions; the script fills the code in)
    POST /s/<slug>/start            the invitation's session, token cookie -> 303 trial
    GET  /s/<slug>/trial            the current image, two answer buttons
    POST /s/<slug>/vote             one vote, stored once       -> 303 feedback/<p> or trial
    GET  /s/<slug>/feedback/<p>     right or wrong (feedback arm, answered trials only)
    GET  /s/<slug>/tutorial/<i>     practice image i (only before the first counted vote)
    POST /s/<slug>/tutorial/<i>     its answer -> right or wrong, and the truth; nothing stored
    GET  /s/<slug>/summary          the annotator's score, once every image is judged
    GET  /s/<slug>/img/<token>.png  the image of one of this session's trials

Before the vote nothing that reaches the browser depends on whether the image
is real: the trial page differs between images only in the position and the
image's token, every file has the same size and no metadata, and the image
responses carry the same headers.

**Images under per-session tokens.** A session sees the image at position
``p`` under :func:`improved_gan.turing.security.image_token` of its token and
``p``; another session sees the same image under another token, and the
server answers a token only to the session's own browser, only for its
current trial (and, in the feedback arm, its answered ones). A list of names
and kinds shared between annotators is therefore worthless, and no name
stays with an image. In a HYPE-time study the image is served once
(:mod:`improved_gan.turing.timing`): the server notes when, and checks the
vote's timing against its clock.

Only an invitation (:mod:`improved_gan.turing.invitations`) opens a session,
and each opens one, once: a person cannot start again to choose a feedback arm
or to collect answers, and never sees an image twice; wrong codes are
throttled per client (:mod:`improved_gan.turing.throttle`).

**The tutorial.** A study made with ``tutorial = n`` holds ``n`` practice
images (half real, half generated, taken out of the pools and never part of
any session, so revealing their answers gives nothing away). A new session
goes from Start to the first practice image; each practice answer is told
right or wrong with the truth, and is **not stored**; after the last one the
counted trials begin. The tutorial is offered until the first counted vote
(it is a courtesy, not a gate: a person who skips it only loses the practice).
"""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request, Response

from improved_gan.turing import security, timing
from improved_gan.turing.hype_time import session_exposure
from improved_gan.turing.pages import message, render
from improved_gan.turing.routes_common import (
    CSRF_MAX_LENGTH,
    AnnotatorSession,
    Served,
    form_is_genuine,
    render_form,
    see_other,
)
from improved_gan.turing.served import PRE_COOKIE, SESSION_COOKIE, SESSION_MAX_AGE_S
from improved_gan.turing.store import InvitationUsed, VoteStatus

router = APIRouter()

CODE_PATTERN = r"^\s*[A-Za-z0-9_-]{43}\s*$"
MAX_POSITION = 100_000  # above any per_session (config.MAX_PER_SESSION)
Position = Annotated[int, Path(ge=0, lt=MAX_POSITION)]
IMAGE_CACHE_CONTROL = "private, max-age=3600"  # the token is this browser's; HYPE-time: no-store
VOTE_STATUS_HEADER = "X-Turing-Vote"


@router.get("/s/{slug}/")
def start_page(
    request: Request, served: Served, code: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    current = served.session(request)
    return render_form(request, served, "start.html", {
        "title": served.study.options.title,
        "base": served.path,
        "per_session": served.study.options.per_session + served.study.options.attention_checks,
        "attention_checks": served.study.options.attention_checks,
        "tutorial": served.study.options.tutorial,
        "session": current[0] if current else None,
        "code": code.strip() if security.is_well_formed_token(code.strip()) else "",
    }, purpose="start", max_age=SESSION_MAX_AGE_S)


@router.post("/s/{slug}/start")
def start_session(
    request: Request,
    served: Served,
    csrf: Annotated[str, Form(max_length=CSRF_MAX_LENGTH)],
    code: Annotated[str, Form(max_length=64, pattern=CODE_PATTERN)],
) -> Response:
    key = served.study.csrf_key
    if not form_is_genuine(request, key, "start", request.cookies.get(PRE_COOKIE), csrf):
        return message(request, 403, "Please start again",
                       "This form has expired or did not come from this site.", link=served.path)
    current = served.session(request)
    if current is not None:  # a second click on Start, or a returning annotator
        return see_other(served.path + ("summary" if current[0].finished else "trial"))
    client, now = _client(request), request.app.state.clock()
    wait_s = request.app.state.code_throttle.wait_s(client, now)
    if wait_s:
        response = message(request, 429, "Too many wrong codes",
                           "Several codes from this address were not invitations; please wait a "
                           "minute and check the code you were given.", link=served.path)
        response.headers["Retry-After"] = str(int(wait_s) + 1)
        return response
    token = security.new_token()
    try:
        session = served.store.claim_invitation(served.study, security.hash_token(code.strip()),
                                                token_hash=security.hash_token(token))
    except InvitationUsed:
        return message(request, 403, "Invitation already used",
                       "This invitation has opened its session already, in the browser where it "
                       "was first used; continue there, or ask the study's owner.", link=served.path)
    if session is None:
        request.app.state.code_throttle.failed(client, now)
        return message(request, 403, "Unknown invitation code",
                       "This code is not one of this study's invitations; check the link or "
                       "the code you were given.", link=served.path)
    response = see_other(served.path + _first_page(served, session))
    served.set_cookie(request, response, SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_S)
    return response


def _client(request: Request) -> str:
    """The client's address, as the server sees it (the proxy's forwarded one with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def _image_page(served, **context) -> dict:
    """A page showing one of the study's images: title, base path and the image's size."""
    height, width, _ = served.study.image_shape
    return {"title": served.study.options.title, "base": served.path, "width": width,
            "height": height, **context}


def _first_page(served, session) -> str:
    """Where a session (re)starts: the summary, the tutorial before any vote, or its trial."""
    if session.finished:
        return "summary"
    if session.next_position == 0 and served.study.options.tutorial:
        return "tutorial/0"
    return "trial"


def _practice_slot(index: int) -> int:
    """The position under which practice image ``index`` is tokenised (below every trial's)."""
    return -1 - index


def _practice(served, session, index: int):
    """The ``index``-th practice image ``(name, is_generated)``, if the tutorial is open."""
    practice = served.store.tutorial_images(served.study.id)
    if session.next_position != 0 or index >= len(practice):
        return None, len(practice)
    return practice[index], len(practice)


@router.get("/s/{slug}/tutorial/{index}")
def tutorial_page(
    request: Request, served: Served, current: AnnotatorSession, index: Position
) -> Response:
    session, token_hash = current
    image, total = _practice(served, session, index)
    if image is None:
        return see_other(served.path + "trial")
    return render(request, "tutorial.html", _image_page(
        served,
        index=index,
        total=total,
        image_token=security.image_token(served.study.csrf_key, token_hash, _practice_slot(index)),
        csrf=security.sign(served.study.csrf_key, "tutorial", token_hash),
    ))


@router.post("/s/{slug}/tutorial/{index}")
def tutorial_answer(
    request: Request,
    served: Served,
    current: AnnotatorSession,
    index: Position,
    csrf: Annotated[str, Form(max_length=CSRF_MAX_LENGTH)],
    answer: Annotated[Literal["real", "generated"], Form()],
) -> Response:
    session, token_hash = current
    if not form_is_genuine(request, served.study.csrf_key, "tutorial", token_hash, csrf):
        return message(request, 403, "Answer refused",
                       "This answer did not come from this study's page.", link=served.path)
    image, total = _practice(served, session, index)
    if image is None:
        return see_other(served.path + "trial")
    said_generated = answer == "generated"
    last = index + 1 >= total
    return render(request, "tutorial_feedback.html", _image_page(
        served, index=index, total=total, is_generated=image[1],
        image_token=security.image_token(served.study.csrf_key, token_hash, _practice_slot(index)),
        said_generated=said_generated, correct=said_generated == image[1], last=last,
        next_url=served.path + ("trial" if last else f"tutorial/{index + 1}"),
    ))


@router.get("/s/{slug}/trial")
def trial_page(request: Request, served: Served, current: AnnotatorSession) -> Response:
    session, token_hash = current
    trial = served.store.current_trial(session.id)
    if trial is None:
        return see_other(served.path + "summary")
    return render(request, "trial.html", _image_page(
        served,
        trial=trial,
        image_token=security.image_token(served.study.csrf_key, token_hash, trial.position),
        exposure_ms=_exposure(served, session),
        csrf=security.sign(served.study.csrf_key, "vote", token_hash),
    ))


def _exposure(served, session) -> int | None:
    """The HYPE-time staircase's exposure for the session's current trial (None: unlimited)."""
    if not served.study.options.hype_time:
        return None
    return session_exposure(served.study.csrf_key, session.id,
                            served.store.session_history(session.id))


@router.post("/s/{slug}/vote")
def vote(
    request: Request,
    served: Served,
    csrf: Annotated[str, Form(max_length=CSRF_MAX_LENGTH)],
    position: Annotated[int, Form(ge=0, lt=MAX_POSITION)],
    answer: Annotated[Literal["real", "generated"], Form()],
    displayed_ms: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    current = served.session(request)
    if current is None:
        return message(
            request, 403, "No session",
            "This browser has no session for this study (cookies may be blocked or cleared).",
            link=served.path,
        )
    session, token_hash = current
    if not form_is_genuine(request, served.study.csrf_key, "vote", token_hash, csrf):
        return message(request, 403, "Vote refused",
                       "This answer did not come from this study's page.", link=served.path)
    requested = _exposure(served, session)
    exposure = checked = None
    if requested is not None and position == session.next_position:
        displayed = timing.parse_displayed(displayed_ms)
        exposure = (requested, displayed)
        voted_at = request.app.state.clock()
        served_at, fetches = served.store.serving(session.id, position)
        checked = (voted_at, timing.timing_problem(requested, displayed, served_at, fetches, voted_at))
    result = served.store.record_vote(session.id, position, said_generated=answer == "generated",
                                      exposure=exposure, timing=checked)
    if result.status is VoteStatus.OUT_OF_ORDER:
        return message(request, 409, "Not yet",
                       "That answer is for an image you have not reached yet.",
                       link=served.path + "trial", link_text="Go to your current image")
    if result.status is VoteStatus.NO_SUCH_POSITION:
        return message(request, 404, "No such image",
                       "Your session has no image at that position.", link=served.path + "trial")
    target = f"feedback/{position}" if session.feedback else "trial"
    response = see_other(served.path + target)
    response.headers[VOTE_STATUS_HEADER] = result.status.value
    return response


@router.get("/s/{slug}/feedback/{position}")
def feedback_page(
    request: Request, served: Served, current: AnnotatorSession, position: Position
) -> Response:
    session, token_hash = current
    trial = served.store.answered_trial(session.id, position) if session.feedback else None
    if trial is None:
        return message(request, 404, "Nothing to show",
                       "There is no answered image at that position.", link=served.path + "trial")
    last = position + 1 >= session.n_trials
    return render(request, "feedback.html", _image_page(
        served, trial=trial, n_trials=session.n_trials,
        image_token=security.image_token(served.study.csrf_key, token_hash, position),
        next_url=served.path + ("summary" if last else "trial"),
    ))


@router.get("/s/{slug}/summary")
def summary_page(request: Request, served: Served, current: AnnotatorSession) -> Response:
    session, _ = current
    if not session.finished:
        return see_other(served.path + "trial")
    votes = served.store.session_votes(session.id)
    return render(request, "summary.html", {
        "title": served.study.options.title,
        "answered": len(votes),
        "correct": sum(v.correct for v in votes),
        "feedback": session.feedback,
    })


@router.get("/s/{slug}/img/{filename}")
def image_file(request: Request, served: Served, filename: str) -> Response:
    """The image behind one of this browser's tokens: its current trial, a practice image while the
    tutorial is open, or (feedback arm) an answered trial. A HYPE-time trial's image is served once."""
    token, _, extension = filename.partition(".")
    current = served.session(request)
    if extension != "png" or _IMAGE_TOKEN.fullmatch(token) is None or current is None:
        return _no_image()
    session, token_hash = current
    position = _slot(served, session, token_hash, token)
    if position is None:
        return _no_image()
    timed = served.study.options.hype_time
    if position < 0:
        name = served.store.tutorial_images(served.study.id)[_practice_slot(position)][0]
    else:
        if timed and position == session.next_position:
            if served.store.record_fetch(session.id, position, request.app.state.clock()) > 1:
                return Response("this image was shown already; answer to go on\n", status_code=410,
                                media_type="text/plain", headers={"Cache-Control": "no-store"})
        name = served.store.trial_image_name(session.id, position)
    headers = {"Cache-Control": "no-store" if timed else IMAGE_CACHE_CONTROL}
    data = served.folder.image_path(name).read_bytes()
    return Response(data, media_type="image/png", headers=headers)


_IMAGE_TOKEN = re.compile(r"[0-9a-f]{32}")


def _no_image() -> Response:
    return Response("no such image\n", status_code=404, media_type="text/plain")


def _slot(served, session, token_hash: str, token: str) -> int | None:
    """The position ``token`` names for this session (negative: a practice image), if it may be shown."""
    slots = []
    if not session.finished:
        slots.append(session.next_position)
    if session.next_position == 0:
        slots += [_practice_slot(i) for i in range(served.study.options.tutorial)]
    if session.feedback:
        slots += range(session.next_position - 1, -1, -1)  # the latest answer first
    key = served.study.csrf_key
    for position in slots:
        if hmac.compare_digest(security.image_token(key, token_hash, position), token):
            return position
    return None
