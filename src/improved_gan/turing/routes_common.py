"""What the annotator and owner routes share: finding the study, refusing forged forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from improved_gan.turing import security
from improved_gan.turing.pages import render
from improved_gan.turing.served import PRE_COOKIE, ServedStudy
from improved_gan.turing.store import Session

CSRF_MAX_LENGTH = 64


def served_study(request: Request, slug: str) -> ServedStudy:
    """The study named in the URL, or 404."""
    served = request.app.state.studies.get(slug)
    if served is None:
        raise HTTPException(status_code=404, detail="There is no study at this address.")
    return served


Served = Annotated[ServedStudy, Depends(served_study)]


class Redirect(Exception):
    """Answered with a 303 to ``url`` (by the app's handler): a page needing what is missing."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def annotator_session(request: Request, served: Served) -> tuple[Session, str]:
    """The annotator's session and token hash; without one, back to the start page."""
    current = served.session(request)
    if current is None:
        raise Redirect(served.path)
    return current


AnnotatorSession = Annotated[tuple[Session, str], Depends(annotator_session)]


def render_form(
    request: Request, served: ServedStudy, template: str, context: dict, *, purpose: str,
    max_age: int, status_code: int = 200,
) -> Response:
    """A page whose form is bound to this browser before it has a session.

    The CSRF token signs a random nonce kept in an HttpOnly cookie (set here
    when the browser has none yet).
    """
    nonce = request.cookies.get(PRE_COOKIE)
    fresh = not security.is_well_formed_token(nonce)
    if fresh:
        nonce = security.new_token()
    context = {**context, "csrf": security.sign(served.study.csrf_key, purpose, nonce)}
    response = render(request, template, context, status_code=status_code)
    if fresh:
        served.set_cookie(request, response, PRE_COOKIE, nonce, max_age=max_age)
    return response


def form_is_genuine(
    request: Request, key_hex: str, purpose: str, binding: str | None, csrf: str
) -> bool:
    """Whether a form submission came from our own page.

    The token must be the HMAC of ``purpose|binding`` (the binding is a secret
    that only this browser holds, in an HttpOnly cookie); on top of that, a
    browser's ``Sec-Fetch-Site: cross-site`` is refused outright.
    """
    if request.headers.get("sec-fetch-site") == "cross-site" or binding is None:
        return False
    return security.signature_matches(key_hex, purpose, binding, csrf)


def see_other(url: str) -> RedirectResponse:
    """The answer to a successful form post (303: the browser follows with a GET)."""
    return RedirectResponse(url, status_code=303)
