"""Statistics as people read them: percentages with their 95% intervals."""

from __future__ import annotations

import math

from improved_gan.turing.intervals import Proportion


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}"


def format_percent(p: Proportion) -> str:
    """``78.7%`` (the estimate alone), or ``–`` without trials."""
    return f"{_percent(p.estimate)}%" if p.trials else "–"


def format_rate(value: float) -> str:
    """``21.3%`` for a rate in [0, 1], or ``–`` where undefined."""
    return "–" if math.isnan(value) else f"{_percent(value)}%"


def format_interval(bounds: tuple[float, float]) -> str:
    """``[74.1, 82.8]`` in percent, or ``–`` where undefined."""
    low, high = bounds
    return "–" if math.isnan(low) else f"[{_percent(low)}, {_percent(high)}]"


def format_proportion(p: Proportion) -> str:
    """``78.7% [74.1, 82.8]`` (estimate and Wilson interval in percent)."""
    if not p.trials:
        return "–"
    return f"{_percent(p.estimate)}% {format_interval((p.low, p.high))}"


def format_difference(effect: tuple[float, float, float]) -> str:
    """``+6.2 pts [-1.0, 13.1]`` for a difference of proportions."""
    d, low, high = effect
    if math.isnan(d):
        return "–"
    return f"{100 * d:+.1f} pts [{100 * low:+.1f}, {100 * high:+.1f}]"


def format_p_value(p: float) -> str:
    """``0.031``, ``0.00012``; below 1e-4 in scientific notation (``1.7e-61``); ``–`` if undefined."""
    if math.isnan(p):
        return "–"
    if p == 0.0:
        return "< 1e-300"  # below what a double holds
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"
