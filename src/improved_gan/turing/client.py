"""A scripted annotator: a program that takes part in a study through its pages.

It speaks exactly the HTTP a browser does (start form, trial page, vote form,
cookies, CSRF tokens), so the load benchmark and the tests exercise the real
protocol. It reads only what an annotator's browser receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from improved_gan.turing.served import SESSION_COOKIE

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_POSITION = re.compile(r'name="position" value="(\d+)"')
_IMAGE = re.compile(r'/img/([0-9a-f]{32})\.png"')


class ProtocolError(RuntimeError):
    """The server answered in a way no page of the study should."""


@dataclass(frozen=True)
class TrialPage:
    position: int
    image_name: str  # the image's token in this session (another session sees another)
    csrf: str
    html: str


def _field(pattern: re.Pattern, html: str, what: str) -> str:
    match = pattern.search(html)
    if match is None:
        raise ProtocolError(f"no {what} on the page: {html[:200]!r}")
    return match.group(1)


class ScriptedAnnotator:
    """One annotator of study ``slug`` on the server that ``client`` talks to.

    Args:
        client: an ``httpx.Client`` with the server's ``base_url`` (it keeps the cookies).
        slug: the study's name in URLs.
    """

    def __init__(self, client: httpx.Client, slug: str) -> None:
        self.client = client
        self.base = f"/s/{slug}/"

    @property
    def token(self) -> str | None:
        """The session token the server gave this annotator (None before :meth:`start`)."""
        return self.client.cookies.get(SESSION_COOKIE)

    def start(self, code: str) -> httpx.Response:
        """Open the session of invitation ``code`` (as following the invitation link does: the
        code is in the link's fragment, so only the start form's body carries it)."""
        page = self.client.get(self.base)
        if page.status_code != 200:
            raise ProtocolError(f"start page answered {page.status_code}")
        csrf = _field(_CSRF, page.text, "CSRF token")
        response = self.client.post(self.base + "start", data={"csrf": csrf, "code": code})
        if response.status_code != 303:
            raise ProtocolError(f"start answered {response.status_code}: {response.text[:200]!r}")
        return response

    def current(self) -> TrialPage | None:
        """The image to judge now, or None once the session is finished."""
        page = self.client.get(self.base + "trial")
        if page.status_code == 303 and page.headers["location"].endswith("/summary"):
            return None
        if page.status_code != 200:
            raise ProtocolError(f"trial page answered {page.status_code}")
        return TrialPage(
            position=int(_field(_POSITION, page.text, "position")),
            image_name=_field(_IMAGE, page.text, "image"),
            csrf=_field(_CSRF, page.text, "CSRF token"),
            html=page.text,
        )

    def image(self, trial: TrialPage) -> httpx.Response:
        """The trial's image, as the page's ``<img>`` asks for it."""
        return self.client.get(f"{self.base}img/{trial.image_name}.png")

    def vote(self, trial: TrialPage, answer: str, *, displayed_ms: float | None = None) -> httpx.Response:
        """Submit ``answer`` (``"real"`` or ``"generated"``); a 303 is the acknowledgement.

        ``displayed_ms``: the display time a HYPE-time page measured and sends with the vote.
        """
        data = {"csrf": trial.csrf, "position": str(trial.position), "answer": answer}
        if displayed_ms is not None:
            data["displayed_ms"] = f"{displayed_ms:.1f}"
        return self.client.post(self.base + "vote", data=data)
