"""The study server's ASGI application: every served study under ``/s/<slug>/``.

:func:`create_app` takes opened studies (:class:`~improved_gan.turing.served.ServedStudy`)
and returns a FastAPI app; :mod:`improved_gan.turing.server` runs it under uvicorn.
The interactive API docs are off: the server's surface is its pages and nothing
else.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import SQLAlchemyError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from improved_gan.errors import ConfigError
from improved_gan.turing import annotator, health, owner
from improved_gan.turing.invitations import keep_codes_out_of_access_log
from improved_gan.turing.middleware import BodyLimit, SecurityHeaders
from improved_gan.turing.pages import STATIC_DIR, message
from improved_gan.turing.routes_common import Redirect, see_other
from improved_gan.turing.served import ServedStudy
from improved_gan.turing.throttle import CodeThrottle

logger = logging.getLogger("improved_gan.turing")


def create_app(studies: Sequence[ServedStudy]) -> FastAPI:
    """An app serving ``studies`` (their slugs must differ)."""
    by_slug = _by_slug(studies)
    app = FastAPI(title="improved-gan human study", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.studies = by_slug
    app.state.clock = time.time  # the server's clock (s) for HYPE-time and throttling; tests move it
    app.state.code_throttle = CodeThrottle()
    keep_codes_out_of_access_log()
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(annotator.router)
    app.include_router(owner.router)

    @app.get("/", response_class=PlainTextResponse)
    def index() -> str:
        return "This server runs a human study of generated images; open the link you were given.\n"

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz():
        found = health.problems(by_slug.values())
        if found:
            return PlainTextResponse("".join(f"{line}\n" for line in found), status_code=503)
        return "ok\n"

    _answer_errors_with_pages(app)
    return app


def _by_slug(studies: Sequence[ServedStudy]) -> dict[str, ServedStudy]:
    """The studies by slug; a ConfigError when two share one."""
    by_slug: dict[str, ServedStudy] = {}
    for served in studies:
        if served.slug in by_slug:
            raise ConfigError(
                f"two study folders are named {served.slug!r} ({by_slug[served.slug].folder.root} "
                f"and {served.folder.root}); serve them separately"
            )
        by_slug[served.slug] = served
    return by_slug


def _answer_errors_with_pages(app: FastAPI) -> None:
    """Answer errors with a page: storage failures (503), redirects, HTTP errors and invalid forms (400)."""

    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(OSError)
    async def storage_failure(request: Request, exc: Exception):
        logger.error(health.storage_failure_line(request.method, request.url.path, exc))
        return message(
            request, 503, "Please try again in a minute",
            "The study cannot reach its storage right now. Answers you gave before are kept; "
            "the last one may need to be given again.", link=None)

    @app.exception_handler(Redirect)
    async def redirect(request: Request, exc: Redirect):
        return see_other(exc.url)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        text = exc.detail if isinstance(exc.detail, str) else "Request refused."
        if exc.status_code == 404:
            text = "There is nothing at this address."
        return message(request, exc.status_code, "Not available", text, link=None)

    @app.exception_handler(RequestValidationError)
    async def bad_form(request: Request, exc: RequestValidationError):
        fields = sorted({str(err["loc"][-1]) for err in exc.errors()})
        return message(request, 400, "Invalid request",
                       f"These fields are missing or invalid: {', '.join(fields)}.", link=None)
