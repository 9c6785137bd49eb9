"""A study's results: accuracy by group and annotator, the learning effect, per-image votes.

"Accuracy" is the fraction of votes that were right, the number the paper
reports (Section 6: 52.4% on MNIST, 78.7% on CIFAR-10, 71.4% on the top 1% by
Inception score). Every proportion carries a 95% Wilson interval; a group's
accuracy also carries a 95% interval from resampling its annotators (see
:mod:`improved_gan.turing.intervals`).

**Chance.** Each image's kind is a fair coin drawn independently
(:mod:`improved_gan.turing.sequencing`), so an annotator who does not look at
the images is right with probability :data:`CHANCE` = 1/2 at every position,
whatever they count or were told. Accuracy is tested against it (exact
binomial test over votes; the annotator-resampling interval is the one to
read when annotators differ).

**HYPE-infinity** (Zhou et al., NeurIPS 2019): the error rate, the fraction of
votes that were wrong on real and generated images together, with a 95%
bootstrap interval over annotators; 50% means people cannot tell.

The learning effect (Section 4: with feedback, annotators "learned to point out
the flaws") is shown two ways: accuracy in bins of position within a session,
and the difference between the second and the first half of the sessions,
whose chance value is 0 (a blind annotator is at 1/2 in both halves); its
intervals are Newcombe's over votes and a bootstrap over annotators.

**Agreement**: Krippendorff's alpha of the answers over images judged by two
or more annotators (:mod:`improved_gan.turing.agreement`).

**Attention checks** (:mod:`improved_gan.turing.attention`): their votes are
never counted, and every vote of an annotator who failed more than the
study's threshold is left out of every statistic above; ``attention`` says
how many annotators were checked and excluded, and why.

**Timing** (HYPE-time, :mod:`improved_gan.turing.timing`): a vote whose timing
the server found inconsistent is left out of every statistic and counted by
reason in ``hype_time``.

**Collusion** (:mod:`improved_gan.turing.collusion`): pairs of annotators whose
agreement is implausible under independence are flagged (not excluded: the
owner decides).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from improved_gan.turing.agreement import krippendorff_alpha_nominal
from improved_gan.turing.attention import AttentionSummary, apply_checks
from improved_gan.turing.collusion import CollusionSummary, flag_pairs
from improved_gan.turing.hype_time import HypeTimeSummary, summarize_exposures
from improved_gan.turing.intervals import (
    Proportion,
    binomial_two_sided_p,
    cluster_bootstrap_difference,
    cluster_bootstrap_interval,
    json_number,
    json_p_value,
    newcombe_difference_interval,
    proportion,
)
from improved_gan.turing.store import ImageRow, VoteRow

GROUPS = ("all", "with feedback", "without feedback")
CHANCE = 0.5  # accuracy of an annotator who does not look, under independent fair-coin kinds


@dataclass(frozen=True)
class GroupSummary:
    """Accuracy of one group of annotators (all, with feedback, without)."""

    name: str
    annotators: int
    accuracy: Proportion
    annotator_bootstrap_ci: tuple[float, float]
    on_real: Proportion  # real images called real
    on_generated: Proportion  # generated images called generated
    first_half: Proportion
    second_half: Proportion
    learning_effect_annotator_ci: tuple[float, float]

    @property
    def learning_effect(self) -> tuple[float, float, float]:
        """Second-half minus first-half accuracy, with its 95% interval (Newcombe, over votes)."""
        return newcombe_difference_interval(self.second_half, self.first_half)

    @property
    def p_value_vs_chance(self) -> float:
        """Exact two-sided binomial test of the accuracy against :data:`CHANCE` (over votes)."""
        return binomial_two_sided_p(self.accuracy.successes, self.accuracy.trials, CHANCE)

    @property
    def hype_infinity(self) -> tuple[float, float, float]:
        """HYPE-infinity: the error rate ``1 - accuracy`` and its 95% interval over annotators."""
        low, high = self.annotator_bootstrap_ci
        return 1.0 - self.accuracy.estimate, 1.0 - high, 1.0 - low

    def to_dict(self) -> dict:
        d, low, high = self.learning_effect
        error, error_low, error_high = self.hype_infinity
        return {
            "name": self.name,
            "annotators": self.annotators,
            "chance": CHANCE,
            "accuracy": self.accuracy.to_dict(),
            "accuracy_ci95_annotator_bootstrap": _pair(self.annotator_bootstrap_ci),
            "accuracy_p_value_vs_chance": json_p_value(self.p_value_vs_chance),
            "hype_infinity": {"error_rate": json_number(error),
                              "ci95_annotator_bootstrap": _pair((error_low, error_high))},
            "accuracy_on_real": self.on_real.to_dict(),
            "accuracy_on_generated": self.on_generated.to_dict(),
            "first_half": self.first_half.to_dict(),
            "second_half": self.second_half.to_dict(),
            "learning_effect": {
                "difference": json_number(d), "chance": 0.0, "ci95": _pair((low, high)),
                "ci95_annotator_bootstrap": _pair(self.learning_effect_annotator_ci),
            },
        }


@dataclass(frozen=True)
class AnnotatorSummary:
    session_id: int
    label: str | None
    feedback: bool
    n_trials: int
    accuracy: Proportion  # trials = votes given so far

    @property
    def finished(self) -> bool:
        return self.accuracy.trials >= self.n_trials

    def to_dict(self) -> dict:
        return {
            "annotator": self.session_id,
            "label": self.label,
            "feedback": self.feedback,
            "answered": self.accuracy.trials,
            "of": self.n_trials,
            "accuracy": self.accuracy.to_dict(),
        }


@dataclass(frozen=True)
class CurvePoint:
    """Accuracy over positions ``[first, last]`` (0-based) of the sessions in one arm."""

    first: int
    last: int
    accuracy: Proportion

    def to_dict(self) -> dict:
        return {"positions": [self.first, self.last], "accuracy": self.accuracy.to_dict()}


@dataclass(frozen=True)
class ImageSummary:
    """How one image was judged; for a generated image ``called_real`` is its fooling rate."""

    name: str
    is_generated: bool
    origin: str
    score: float | None
    called_real: Proportion

    @property
    def wrong(self) -> float:
        """Fraction of wrong votes on this image."""
        rate = self.called_real.estimate
        return rate if self.is_generated else 1 - rate

    def to_dict(self) -> dict:
        return {
            "image": self.name,
            "kind": "generated" if self.is_generated else "real",
            "origin": self.origin,
            "score": self.score,
            "votes": self.called_real.trials,
            "called_real": self.called_real.to_dict(),
        }


@dataclass(frozen=True)
class StudyResults:
    groups: dict[str, GroupSummary]
    annotators: list[AnnotatorSummary]
    learning_curves: dict[str, list[CurvePoint]]  # "with feedback" / "without feedback"
    images: list[ImageSummary]  # generated images that fooled people most first
    agreement_alpha: float  # Krippendorff's alpha over images with two or more votes
    attention: AttentionSummary = AttentionSummary(0, 1, 0)  # who the checks excluded
    hype_time: HypeTimeSummary | None = None  # for a study with limited exposures
    collusion: CollusionSummary = CollusionSummary()  # pairs who agree implausibly often

    @property
    def votes(self) -> int:
        return self.groups["all"].accuracy.trials

    def to_dict(self) -> dict:
        return {
            "votes": self.votes,
            "chance": CHANCE,
            "agreement_krippendorff_alpha": json_number(self.agreement_alpha),
            "groups": {name: g.to_dict() for name, g in self.groups.items()},
            "annotators": [a.to_dict() for a in self.annotators],
            "learning_curves": {
                name: [p.to_dict() for p in points] for name, points in self.learning_curves.items()
            },
            "images": [im.to_dict() for im in self.images],
            "attention_checks": self.attention.to_dict(),
            "hype_time": None if self.hype_time is None else self.hype_time.to_dict(),
            "collusion": self.collusion.to_dict(),
        }


def summarize(
    votes: Sequence[VoteRow], images: Sequence[ImageRow], *, curve_bins: int = 10,
    attention_checks: int = 0, attention_max_failures: int = 1,
) -> StudyResults:
    """All of a study's statistics from its stored votes and its images.

    Attention-check votes are dropped, and so is every vote of an annotator
    who failed more than ``attention_max_failures`` checks
    (:func:`improved_gan.turing.attention.apply_checks`); ``attention_checks``
    (per session) is only reported. :func:`summarize_study` takes both from a study.
    Votes with a timing problem (HYPE-time) are dropped first.
    """
    votes = [v for v in votes if v.timing_problem is None]
    votes, checked = apply_checks(votes, checks_per_session=attention_checks,
                                  max_failures=attention_max_failures)
    groups = {
        "all": list(votes),
        "with feedback": [v for v in votes if v.feedback],
        "without feedback": [v for v in votes if not v.feedback],
    }
    return StudyResults(
        groups={name: summarize_group(name, rows) for name, rows in groups.items()},
        annotators=summarize_annotators(votes),
        learning_curves={
            name: learning_curve(groups[name], bins=curve_bins)
            for name in ("with feedback", "without feedback")
        },
        images=summarize_images(votes, images),
        agreement_alpha=agreement(votes),
        attention=checked,
        collusion=flag_pairs(votes),
    )


def summarize_study(store, study, votes: Sequence[VoteRow] | None = None) -> StudyResults:
    """:func:`summarize` of a stored study, with its attention-check settings."""
    votes = store.votes(study.id) if votes is None else votes
    results = summarize(votes, store.images(study.id),
                        attention_checks=study.options.attention_checks,
                        attention_max_failures=study.options.attention_max_failures)
    if not study.options.hype_time:
        return results
    kept = {a.session_id for a in results.annotators}
    return dataclasses.replace(results,
                               hype_time=summarize_exposures(store.exposures(study.id), kept))


def agreement(votes: Sequence[VoteRow]) -> float:
    """Krippendorff's alpha of the answers, an image being a unit."""
    by_image: dict[int, list[bool]] = defaultdict(list)
    for v in votes:
        by_image[v.image_id].append(v.said_generated)
    return krippendorff_alpha_nominal(by_image.values())


def _count(rows: Sequence[VoteRow]) -> Proportion:
    return proportion(sum(v.correct for v in rows), len(rows))


def summarize_group(name: str, rows: Sequence[VoteRow]) -> GroupSummary:
    by_session: dict[int, list[VoteRow]] = defaultdict(list)
    for v in rows:
        by_session[v.session_id].append(v)
    per_correct = np.array([sum(v.correct for v in vs) for vs in by_session.values()])
    per_votes = np.array([len(vs) for vs in by_session.values()])
    halves = {  # (correct [M], votes [M]) per half, 0 = first
        half: (np.array([sum(v.correct for v in vs if _half(v) == half) for vs in by_session.values()]),
               np.array([sum(_half(v) == half for v in vs) for vs in by_session.values()]))
        for half in (0, 1)
    }
    return GroupSummary(
        name=name,
        annotators=len(by_session),
        accuracy=_count(rows),
        annotator_bootstrap_ci=cluster_bootstrap_interval(per_correct, per_votes),
        on_real=_count([v for v in rows if not v.is_generated]),
        on_generated=_count([v for v in rows if v.is_generated]),
        first_half=_count([v for v in rows if _half(v) == 0]),
        second_half=_count([v for v in rows if _half(v) == 1]),
        learning_effect_annotator_ci=cluster_bootstrap_difference(halves[1], halves[0]),
    )


def _half(v: VoteRow) -> int:
    """0 for a vote in the first half of its session, 1 in the second."""
    return int(2 * v.position >= v.n_trials)


def summarize_annotators(votes: Sequence[VoteRow]) -> list[AnnotatorSummary]:
    """One row per annotator who voted at least once, in order of arrival."""
    by_session: dict[int, list[VoteRow]] = defaultdict(list)
    for v in votes:
        by_session[v.session_id].append(v)
    return [
        AnnotatorSummary(sid, vs[0].label, vs[0].feedback, vs[0].n_trials, _count(vs))
        for sid, vs in sorted(by_session.items())
    ]


def learning_curve(rows: Sequence[VoteRow], *, bins: int = 10) -> list[CurvePoint]:
    """Accuracy in ``bins`` equal slices of the session (by relative position).

    A vote at 0-based position ``p`` of an ``n``-image session falls in slice
    ``floor(p * bins / n)``; with one ``per_session`` per study all sessions
    share the slices' position ranges. Empty slices are left out.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1 (got {bins})")
    slices: dict[int, list[VoteRow]] = defaultdict(list)
    n_trials = max((v.n_trials for v in rows), default=0)
    for v in rows:
        slices[min(bins - 1, v.position * bins // v.n_trials)].append(v)
    points = []
    for b in sorted(slices):
        first = math.ceil(b * n_trials / bins)
        last = math.ceil((b + 1) * n_trials / bins) - 1
        points.append(CurvePoint(first, last, _count(slices[b])))
    return points


def summarize_images(votes: Sequence[VoteRow], images: Sequence[ImageRow]) -> list[ImageSummary]:
    """Every image with its votes, the most often misjudged first: generated, then real."""
    called_real: dict[int, int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    for v in votes:
        total[v.image_id] += 1
        called_real[v.image_id] += not v.said_generated
    summaries = [
        ImageSummary(im.name, im.is_generated, im.origin, im.score,
                     proportion(called_real[im.id], total[im.id]))
        for im in images
    ]

    def order(s: ImageSummary):
        wrong = -1.0 if math.isnan(s.wrong) else s.wrong  # unseen images last
        return (not s.is_generated, -wrong, -s.called_real.trials)

    return sorted(summaries, key=order)


def _pair(values: tuple[float, float]) -> list[float | None]:
    return [json_number(values[0]), json_number(values[1])]
