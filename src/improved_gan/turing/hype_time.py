"""HYPE-time (Zhou et al., NeurIPS 2019): how long an image must be seen to be judged.

In a study made with ``hype_time=True`` every image is shown for a limited
**exposure**, then replaced by a mask (random noise of the image's size) until
the annotator answers. Each annotator's exposure follows an adaptive
**3-down/1-up staircase** over :data:`LEVELS_MS`, 100 to 1000 ms in steps of
50 ms (19 levels):

* it starts at :data:`START_MS` (500 ms);
* after three right answers in a row the exposure goes one step down (50 ms
  shorter, never below 100 ms);
* after a wrong answer it goes one step up (50 ms longer, never above 1000 ms).

A 3-down/1-up staircase settles where an annotator is right with probability
0.794 (Levitt 1971), so the exposures an annotator sees cluster at the
shortest exposure at which they can still tell real from generated. The
**HYPE-time score** is the modal exposure: the exposure shown most often over
the counted trials of every kept annotator (ties to the longer one); longer
means the generated images are harder to tell from real. Each annotator's own
modal exposure is reported too.

The exposure is computed by the server from the session's answered trials
(right or wrong), so it cannot be chosen by the browser.

**Interleaved staircases.** With a single staircase the exposure rises right
after every wrong answer, so in the arm without feedback the next trial told
the annotator whether their last answer was right (in 236 of 236 cases of
``tests/turing/test_turing_attacks.py`` before the change). Each session
therefore runs :data:`STAIRCASES` independent staircases (each 3-down/1-up
from 500 ms as above), and each trial belongs to one of them by a coin that
only the server knows (:func:`staircase_of`, an HMAC of the session and the
position under the study's key). After a rise the last answer was wrong in
47% of the same test's cases (100% before); no rise still leans to "right"
(docs/turing.md, "Attacks"). The score is unchanged: the modal exposure over
all trials, of every staircase.

**Honest durations.** The browser shows the image on an animation frame,
counts frames with ``requestAnimationFrame`` timestamps, and swaps in the mask
on the first frame at which the image has been up for the requested time less
half a frame; the time from the frame that showed the image to the frame that
showed the mask is the **displayed** exposure, sent with the vote and stored
beside the requested one (``turing_exposures``).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from improved_gan.turing import security

MIN_MS, MAX_MS, STEP_MS = 100, 1000, 50
LEVELS_MS = tuple(range(MIN_MS, MAX_MS + 1, STEP_MS))
START_MS = 500
DOWN_AFTER = 3  # right answers in a row that shorten the exposure
STAIRCASES = 2  # interleaved per session, each trial's by a secret coin


def next_exposure(history: Iterable[bool], *, start_ms: int = START_MS) -> int:
    """The exposure (ms) of the next trial after answers ``history`` (True = right), in order."""
    level = LEVELS_MS.index(start_ms)
    streak = 0
    for correct in history:
        if correct:
            streak += 1
            if streak == DOWN_AFTER:
                level, streak = max(0, level - 1), 0
        else:
            level, streak = min(len(LEVELS_MS) - 1, level + 1), 0
    return LEVELS_MS[level]


def staircase_of(key_hex: str, session_id: int, position: int) -> int:
    """Which of the session's :data:`STAIRCASES` staircases trial ``position`` belongs to.

    An HMAC under the study's key, so it is fixed for the trial, differs between
    sessions, and cannot be predicted by the annotator.
    """
    digest = security.sign(key_hex, "staircase", f"{session_id}|{position}")
    return security.b64_byte(digest) % STAIRCASES


def interleaved_exposure(history: Sequence[bool], staircase: Callable[[int], int]) -> int:
    """The exposure of trial ``len(history)``: the level of its staircase after that staircase's answers.

    ``history[p]`` says whether the answer at position ``p`` was right;
    ``staircase(p)`` is the staircase of position ``p``.
    """
    mine = staircase(len(history))
    return next_exposure([right for p, right in enumerate(history) if staircase(p) == mine])


def session_exposure(key_hex: str, session_id: int, history: Sequence[bool]) -> int:
    """The exposure the server shows at the session's next trial (its interleaved staircases)."""
    return interleaved_exposure(history, lambda p: staircase_of(key_hex, session_id, p))


def modal_exposure(exposures: Sequence[int]) -> int | None:
    """The exposure shown most often (ties: the longest); None when there is none."""
    if not exposures:
        return None
    counts = Counter(exposures)
    return max(counts, key=lambda ms: (counts[ms], ms))


@dataclass(frozen=True)
class HypeTimeSummary:
    """The HYPE-time score and what it was computed from."""

    score_ms: int | None  # modal exposure over all counted trials of kept annotators
    per_annotator_ms: dict[int, int]  # session id -> that annotator's modal exposure
    trials: int
    displayed_error_ms: float | None  # median |displayed - requested| over measured trials
    excluded: dict[str, int] = field(default_factory=dict)  # timing problem -> votes left out
    per_annotator_response_ms: dict[int, float] = field(default_factory=dict)  # median ms, exposure end -> vote

    def to_dict(self) -> dict:
        return {
            "score_modal_exposure_ms": self.score_ms,
            "levels_ms": [MIN_MS, MAX_MS, STEP_MS],
            "staircase": f"{STAIRCASES} interleaved {DOWN_AFTER}-down/1-up staircases from {START_MS} ms",
            "trials": self.trials,
            "median_abs_displayed_minus_requested_ms": self.displayed_error_ms,
            "excluded_votes_by_reason": dict(sorted(self.excluded.items())),
            "per_annotator_modal_exposure_ms": {str(k): v for k, v in sorted(self.per_annotator_ms.items())},
            "per_annotator_median_response_ms": {
                str(k): round(v, 1) for k, v in sorted(self.per_annotator_response_ms.items())},
        }


def summarize_exposures(rows, kept_sessions: set[int]) -> HypeTimeSummary:
    """The score over counted timed trials of kept annotators; votes with a timing problem counted apart.

    ``rows``: ``(session_id, position, requested_ms, displayed_ms or None, served_at, voted_at,
    problem)`` of the study's timed trials (attention checks excluded), as
    :meth:`improved_gan.turing.store.Store.exposures` returns them; the clock
    values are None for trials stored before the server kept them.
    """
    excluded = Counter(r[6] for r in rows if r[6] is not None)
    rows = [r for r in rows if r[0] in kept_sessions and r[6] is None]
    by_session: dict[int, list[int]] = {}
    responses: dict[int, list[float]] = {}
    for sid, _, requested, _, served_at, voted_at, _ in rows:
        by_session.setdefault(sid, []).append(requested)
        if served_at is not None and voted_at is not None:
            responses.setdefault(sid, []).append(1000.0 * (voted_at - served_at) - requested)
    errors = sorted(abs(r[3] - r[2]) for r in rows if r[3] is not None)
    median = errors[len(errors) // 2] if errors else None
    return HypeTimeSummary(modal_exposure([r[2] for r in rows]),
                           {sid: modal_exposure(v) for sid, v in by_session.items()},
                           len(rows), median, dict(excluded),
                           {sid: statistics.median(v) for sid, v in responses.items()})
