"""HTML pages from the package's Jinja2 templates (autoescaped)."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from improved_gan.turing.formatting import (
    format_difference,
    format_interval,
    format_p_value,
    format_percent,
    format_proportion,
    format_rate,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters.update(
    pct=format_proportion, percent=format_percent, interval=format_interval,
    difference=format_difference, rate=format_rate, p_value=format_p_value,
)


def render(request: Request, name: str, context: dict, *, status_code: int = 200) -> HTMLResponse:
    """A rendered page; pages change with every vote, so none is cached."""
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def message(
    request: Request, status_code: int, heading: str, text: str, *, link: str | None = None,
    link_text: str = "Back to the start",
) -> HTMLResponse:
    """A short page for refusals and errors."""
    return render(
        request,
        "message.html",
        {"title": heading, "heading": heading, "message": text, "link": link, "link_text": link_text},
        status_code=status_code,
    )
