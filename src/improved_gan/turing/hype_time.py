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
(right or wrong), so it cannot be chosen by the browser; note that in the
arm without feedback the exposure's change still tells an attentive annotator
whether their last answers were right, as in every staircase.

**Honest durations.** The browser shows the image on an animation frame,
counts frames with ``requestAnimationFrame`` timestamps, and swaps in the mask
on the first frame at which the image has been up for the requested time less
half a frame; the time from the frame that showed the image to the frame that
showed the mask is the **displayed** exposure, sent with the vote and stored
beside the requested one (``turing_exposures``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

MIN_MS, MAX_MS, STEP_MS = 100, 1000, 50
LEVELS_MS = tuple(range(MIN_MS, MAX_MS + 1, STEP_MS))
START_MS = 500
DOWN_AFTER = 3  # right answers in a row that shorten the exposure
MAX_DISPLAYED_MS = 60_000.0  # a displayed time above this is not a measurement


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

    def to_dict(self) -> dict:
        return {
            "score_modal_exposure_ms": self.score_ms,
            "levels_ms": [MIN_MS, MAX_MS, STEP_MS],
            "staircase": f"{DOWN_AFTER}-down/1-up from {START_MS} ms",
            "trials": self.trials,
            "median_abs_displayed_minus_requested_ms": self.displayed_error_ms,
            "per_annotator_modal_exposure_ms": {str(k): v for k, v in sorted(self.per_annotator_ms.items())},
        }


def summarize_exposures(rows, kept_sessions: set[int]) -> HypeTimeSummary:
    """``rows``: (session_id, position, requested_ms, displayed_ms or None) of counted trials."""
    rows = [r for r in rows if r[0] in kept_sessions]
    by_session: dict[int, list[int]] = {}
    for sid, _, requested, _ in rows:
        by_session.setdefault(sid, []).append(requested)
    errors = sorted(abs(d - r) for _, _, r, d in rows if d is not None)
    median = errors[len(errors) // 2] if errors else None
    return HypeTimeSummary(modal_exposure([r[2] for r in rows]),
                           {sid: modal_exposure(v) for sid, v in by_session.items()},
                           len(rows), median)
