"""The results page's figures, as PNG bytes (matplotlib's object API, no global state).

* :func:`accuracy_png` — accuracy per group, overall and on each kind of image,
  with 95% Wilson intervals and the 50% chance line;
* :func:`learning_curve_png` — accuracy over the course of a session, per arm
  (Section 4's learning effect);
* :func:`images_png` — how often each image was called real, generated and real
  images apart (where the generator fooled people).
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.figure import Figure

from improved_gan.turing.intervals import Proportion
from improved_gan.turing.stats import StudyResults

_ARM_COLORS = {"with feedback": "#c0392b", "without feedback": "#2c7fb8", "all": "#555555"}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _errors(points: list[Proportion]) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and asymmetric error bars ``[2, K]`` (zeros where undefined)."""
    est = np.array([p.estimate for p in points])
    low = np.array([p.low for p in points])
    high = np.array([p.high for p in points])
    bars = np.nan_to_num(np.stack([est - low, high - est]))
    return est, bars


def _accuracy_axes_done(fig: Figure, ax, title: str) -> bytes:
    """Finish axes of accuracies (0..1, chance line, legend) and render the figure."""
    ax.axhline(0.5, color="black", lw=0.8, ls="--", label="chance")
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction judged correctly")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def accuracy_png(results: StudyResults) -> bytes:
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    measures = (("overall", "accuracy"), ("real images", "on_real"),
                ("generated images", "on_generated"))
    names = list(results.groups)
    width = 0.8 / len(names)
    x = np.arange(len(measures))
    for j, name in enumerate(names):
        group = results.groups[name]
        est, bars = _errors([getattr(group, attr) for _, attr in measures])
        ax.bar(x + (j - (len(names) - 1) / 2) * width, np.nan_to_num(est), width, yerr=bars,
               capsize=3, color=_ARM_COLORS[name], label=f"{name} (n={group.accuracy.trials})")
    ax.set_xticks(x, [label for label, _ in measures])
    return _accuracy_axes_done(fig, ax, "Accuracy with 95% intervals")


def learning_curve_png(results: StudyResults) -> bytes:
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    for name, points in results.learning_curves.items():
        if not points:
            continue
        centers = np.array([(p.first + p.last) / 2 + 1 for p in points])  # 1-based positions
        est, bars = _errors([p.accuracy for p in points])
        ax.errorbar(centers, est, yerr=bars, marker="o", capsize=3, color=_ARM_COLORS[name],
                    label=name)
    ax.set_xlabel("position in the session")
    return _accuracy_axes_done(fig, ax, "Learning over a session (95% intervals)")


def images_png(results: StudyResults) -> bytes:
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    edges = np.linspace(0, 1, 11)
    for is_generated, label, color in ((True, "generated", "#c0392b"), (False, "real", "#2c7fb8")):
        rates = [im.called_real.estimate for im in results.images
                 if im.is_generated == is_generated and not math.isnan(im.called_real.estimate)]
        ax.hist(rates, bins=edges, alpha=0.6, color=color, label=f"{label} ({len(rates)} images)")
    ax.set_xlabel("fraction of votes saying 'real'")
    ax.set_ylabel("images")
    ax.set_title("How often each image was called real")
    ax.legend(fontsize=8)
    return _png(fig)


PLOTS = {"accuracy": accuracy_png, "learning": learning_curve_png, "images": images_png}
