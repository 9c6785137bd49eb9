"""The study owner's pages: log in with the owner token, results, exports, plots.

::

    GET  /s/<slug>/owner                    the login form
    POST /s/<slug>/owner                    check the token, set the owner cookie -> results
    POST /s/<slug>/owner/logout             revoke the cookie (a copy stops working too)
    GET  /s/<slug>/results                  the results page
    GET  /s/<slug>/results/votes.csv        every vote
    GET  /s/<slug>/results/images.csv       every image's votes
    GET  /s/<slug>/results/results.json     the statistics with 95% intervals
    GET  /s/<slug>/results/plots/<name>.png accuracy, learning, images
    GET  /s/<slug>/results/img/<name>.png   an image by its file name (the results' thumbnails)

Everything under ``results`` answers 401 without a credential and 403 with a
wrong one; scripts send ``Authorization: Bearer <owner token>``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import PlainTextResponse

from improved_gan.turing import security
from improved_gan.turing.export import images_csv, results_json, votes_csv
from improved_gan.turing.pages import render
from improved_gan.turing.plots import PLOTS
from improved_gan.turing.routes_common import (
    CSRF_MAX_LENGTH,
    Served,
    form_is_genuine,
    render_form,
    see_other,
)
from improved_gan.turing.served import OWNER_COOKIE, OWNER_MAX_AGE_S, PRE_COOKIE, ServedStudy
from improved_gan.turing.stats import summarize_study
from improved_gan.turing.store import Study

router = APIRouter()

_REFUSALS = {401: "The owner token is required.", 403: "That is not this study's owner token."}
_EXPORTS = {
    "votes.csv": "text/csv; charset=utf-8",
    "images.csv": "text/csv; charset=utf-8",
    "results.json": "application/json",
}
_TOP_IMAGES = 12


def _login_page(request: Request, served: ServedStudy, study: Study, *, status_code: int = 200,
                error: str | None = None) -> Response:
    response = render_form(request, served, "owner_login.html", {
        "title": study.options.title, "base": served.path, "error": error,
    }, purpose="owner-login", max_age=OWNER_MAX_AGE_S, status_code=status_code)
    if status_code == 403:
        served.clear_cookie(request, response, OWNER_COOKIE)
    return response


@router.get("/s/{slug}/owner")
def login_page(request: Request, served: Served) -> Response:
    study = served.current_study()
    if served.owner_status(request, study) == 200:
        return see_other(served.path + "results")
    return _login_page(request, served, study)


@router.post("/s/{slug}/owner")
def login(
    request: Request,
    served: Served,
    csrf: Annotated[str, Form(max_length=CSRF_MAX_LENGTH)],
    token: Annotated[str, Form(max_length=64)],
) -> Response:
    study = served.current_study()
    nonce = request.cookies.get(PRE_COOKIE)
    if not form_is_genuine(request, study.csrf_key, "owner-login", nonce, csrf):
        return _login_page(request, served, study, status_code=403,
                           error="This form has expired; please try again.")
    if not security.tokens_match(token.strip(), study.owner_token_hash):
        return _login_page(request, served, study, status_code=403, error=_REFUSALS[403])
    response = see_other(served.path + "results")
    served.set_cookie(request, response, OWNER_COOKIE, served.owner_cookie_value(study),
                      max_age=OWNER_MAX_AGE_S, samesite="strict")
    return response


@router.post("/s/{slug}/owner/logout")
def logout(
    request: Request, served: Served, csrf: Annotated[str, Form(max_length=CSRF_MAX_LENGTH)]
) -> Response:
    study = served.current_study()
    cookie = request.cookies.get(OWNER_COOKIE)
    if not form_is_genuine(request, study.csrf_key, "logout", cookie, csrf):
        return PlainTextResponse("refused\n", status_code=403)
    served.revoke_owner_cookie(study, cookie)
    response = see_other(served.path + "owner")
    served.clear_cookie(request, response, OWNER_COOKIE)
    return response


@router.get("/s/{slug}/results")
def results_page(request: Request, served: Served) -> Response:
    study = served.current_study()
    status = served.owner_status(request, study)
    if status != 200:
        return _login_page(request, served, study, status_code=status,
                           error=_REFUSALS[403] if status == 403 else None)
    results = summarize_study(served.store, study)
    voted = [im for im in results.images if im.called_real.trials]
    return render(request, "results.html", {
        "title": f"Results: {study.options.title}",
        "base": served.path,
        "study": study,
        "results": results,
        "fooled": [im for im in voted if im.is_generated][:_TOP_IMAGES],
        "doubted": [im for im in voted if not im.is_generated][:_TOP_IMAGES],
        "logout_csrf": security.sign(study.csrf_key, "logout", request.cookies.get(OWNER_COOKIE, "")),
    })


def _owner_only(request: Request, served: ServedStudy) -> tuple[Study, Response | None]:
    study = served.current_study()
    status = served.owner_status(request, study)
    refusal = None if status == 200 else PlainTextResponse(_REFUSALS[status] + "\n", status_code=status)
    return study, refusal


@router.get("/s/{slug}/results/{filename}")
def export(request: Request, served: Served, filename: str) -> Response:
    study, refusal = _owner_only(request, served)
    if refusal is not None:
        return refusal
    if filename not in _EXPORTS:
        return PlainTextResponse("no such export\n", status_code=404)
    votes = served.store.votes(study.id)
    if filename == "votes.csv":
        body = votes_csv(votes)
    else:
        results = summarize_study(served.store, study, votes)
        body = images_csv(results) if filename == "images.csv" else results_json(study, results)
    return Response(body, media_type=_EXPORTS[filename], headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{study.slug}-{filename}"',
    })


@router.get("/s/{slug}/results/plots/{filename}")
def plot(request: Request, served: Served, filename: str) -> Response:
    study, refusal = _owner_only(request, served)
    if refusal is not None:
        return refusal
    name, _, extension = filename.partition(".")
    if extension != "png" or name not in PLOTS:
        return PlainTextResponse("no such plot\n", status_code=404)
    results = summarize_study(served.store, study)
    return Response(PLOTS[name](results), media_type="image/png",
                    headers={"Cache-Control": "no-store"})


@router.get("/s/{slug}/results/img/{filename}")
def thumbnail(request: Request, served: Served, filename: str) -> Response:
    """An image by its stored name, for the owner only (annotators see per-session tokens)."""
    study, refusal = _owner_only(request, served)
    if refusal is not None:
        return refusal
    name, _, extension = filename.partition(".")
    if extension != "png" or not served.is_image_name(name):
        return PlainTextResponse("no such image\n", status_code=404)
    return Response(served.folder.image_path(name).read_bytes(), media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})
