"""HYPE-time's exposure as the server enforces it: one fetch per image, votes checked by its clock.

The browser shows an image for the requested exposure and masks it
(:mod:`improved_gan.turing.hype_time`), but a page cannot stop a client that
ignores its script. What the server can do, it does:

* **an image is served once, and only within its trial**: its address is a
  per-session token (:func:`improved_gan.turing.security.image_token`) that
  answers only while the trial is the session's current one; a second request
  is refused (410) and marks the trial;
* **the server keeps its own clock** of the trial: when the image was served,
  when the vote arrived (``turing_timing``);
* **a vote is not counted** when its timing contradicts the protocol, for the
  reason :func:`timing_problem` names; the results count the excluded votes by
  reason.

A vote must come at least the requested exposure plus :data:`MIN_REACTION_MS`
after the image left the server (the image must be decoded, shown for the
exposure, masked, and a person must then press a key), and at most
:data:`MAX_RESPONSE_MS` after the exposure ended; the displayed time the
browser measured must be present and within :data:`DISPLAY_TOLERANCE_MS` of the
requested exposure.

**What a determined client can still do.** The server sees requests, not the
screen: a client that fetches the image once, keeps it on screen (or hands it
to a classifier), waits for :data:`MIN_REACTION_MS` and claims the requested
display time passes every check, with up to :data:`MAX_RESPONSE_MS` of looking.
The results expose it in what they report per annotator: the median time from
the end of the exposure to the vote (a script's is close to
:data:`MIN_REACTION_MS` and does not grow with difficulty) next to their modal
exposure.
"""

from __future__ import annotations

import math

MIN_REACTION_MS = 150.0  # no person answers a masked image faster after the mask
MAX_RESPONSE_MS = 15_000.0  # a vote later than this after the exposure is not a timed judgement
DISPLAY_TOLERANCE_MS = 40.0  # two frames at 50 Hz: the page's frame counting is within one

NEVER_FETCHED = "image never fetched"
FETCHED_TWICE = "image fetched more than once"
NO_DISPLAY_TIME = "no display time"
INCONSISTENT = "display time inconsistent with the request"
TOO_FAST = "voted before the exposure and a reaction could have passed"
TOO_SLOW = "voted too long after the exposure"
PROBLEMS = (NEVER_FETCHED, FETCHED_TWICE, NO_DISPLAY_TIME, INCONSISTENT, TOO_FAST, TOO_SLOW)


def parse_displayed(value: str) -> float | None:
    """The browser's measured display time in ms, or None when absent or not a finite number."""
    try:
        ms = float(value)
    except ValueError:
        return None
    return ms if math.isfinite(ms) else None


def timing_problem(
    requested_ms: int, displayed_ms: float | None, served_at: float | None, fetches: int,
    voted_at: float,
) -> str | None:
    """Why a timed vote is not counted (one of :data:`PROBLEMS`), or None when it is.

    Args:
        requested_ms: the staircase's exposure for the trial.
        displayed_ms: the display time the browser reported (None: none).
        served_at, voted_at: the server's clock (s) at the image's first fetch and at the vote.
        fetches: how often the image was asked for while the trial was open.
    """
    if served_at is None:
        return NEVER_FETCHED
    if fetches > 1:
        return FETCHED_TWICE
    if displayed_ms is None:
        return NO_DISPLAY_TIME
    if abs(displayed_ms - requested_ms) > DISPLAY_TOLERANCE_MS:
        return INCONSISTENT
    elapsed_ms = 1000.0 * (voted_at - served_at)
    if elapsed_ms < requested_ms + MIN_REACTION_MS:
        return TOO_FAST
    if elapsed_ms > requested_ms + MAX_RESPONSE_MS:
        return TOO_SLOW
    return None
