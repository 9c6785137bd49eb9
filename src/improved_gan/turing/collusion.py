"""Pairs of annotators who agree more than independent judges could: flagged in the results.

Annotators are meant to judge alone. Two who compare notes (one tells the
other what an image is, by describing it: the server never shows an image
under a name that means anything outside a session) answer the images they
both saw alike more often than their own habits explain. Under independence,
annotator ``i`` calls an image of kind ``t`` generated with their own rate
``g_i(t)`` whatever ``j`` says, so on a shared image of kind ``t`` the two
agree with probability

.. math::

    q = g_i(t)\\,g_j(t) + (1 - g_i(t))(1 - g_j(t)),

with ``g_i(t) = (generated answers + 1) / (votes + 2)`` over all of ``i``'s
counted votes on kind ``t`` (add-one smoothing keeps ``q < 1``). The number of
agreements over the ``n`` shared images is then a sum of independent
Bernoulli(``q``) (Poisson-binomial); its exact upper tail is the pair's
p-value. A pair is **flagged** when that p-value is below
:data:`FAMILY_ALPHA` divided by the number of pairs tested (Bonferroni), and
only pairs sharing at least :data:`MIN_SHARED` images are tested.

Independence given the kind ignores that some images are harder than others,
which makes honest annotators agree a little more than ``q``; the strict
family-wise level keeps that from flagging honest pairs (tested on simulated
annotators), at the price of missing pairs who copy only a few answers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Sequence

import numpy as np

MIN_SHARED = 10  # images two annotators must share before their agreement is tested
FAMILY_ALPHA = 1e-3  # chance that any honest pair of a study is flagged (Bonferroni)


def poisson_binomial_upper_tail(probabilities: Sequence[float], k: int) -> float:
    """``P(X >= k)`` for ``X`` a sum of independent Bernoulli(``p_m``), exactly (dynamic programme)."""
    distribution = np.zeros(len(probabilities) + 1)
    distribution[0] = 1.0
    for m, p in enumerate(probabilities, 1):
        distribution[1:m + 1] = distribution[1:m + 1] * (1 - p) + distribution[:m] * p
        distribution[0] *= 1 - p
    return float(min(1.0, distribution[k:].sum()))


@dataclass(frozen=True)
class FlaggedPair:
    """Two annotators (session ids) and their agreement on the images both judged."""

    first: int
    second: int
    shared: int
    agreed: int
    expected: float  # agreements expected under independence
    p_value: float

    def to_dict(self) -> dict:
        return {"annotators": [self.first, self.second], "shared_images": self.shared,
                "agreed": self.agreed, "expected_if_independent": round(self.expected, 2),
                "p_value": self.p_value}


@dataclass(frozen=True)
class CollusionSummary:
    pairs_tested: int = 0
    pairs_flagged: list[FlaggedPair] = field(default_factory=list)

    @property
    def threshold(self) -> float:
        return FAMILY_ALPHA / max(1, self.pairs_tested)

    def to_dict(self) -> dict:
        return {
            "test": "agreement on shared images vs independence given each annotator's rates "
                    "per kind (exact Poisson-binomial tail)",
            "min_shared_images": MIN_SHARED,
            "family_alpha": FAMILY_ALPHA,
            "pairs_tested": self.pairs_tested,
            "pairs_flagged": [p.to_dict() for p in self.pairs_flagged],
        }


def flag_pairs(votes) -> CollusionSummary:
    """The pairs of annotators whose agreement is implausible under independence.

    ``votes``: counted :class:`improved_gan.turing.store.VoteRow` (no checks).
    """
    answers: dict[int, dict[int, bool]] = defaultdict(dict)  # session -> image -> said generated
    kinds: dict[int, bool] = {}
    counts: dict[tuple[int, bool], list[int]] = defaultdict(lambda: [0, 0])  # generated, votes
    for v in votes:
        answers[v.session_id][v.image_id] = v.said_generated
        kinds[v.image_id] = v.is_generated
        counts[v.session_id, v.is_generated][0] += v.said_generated
        counts[v.session_id, v.is_generated][1] += 1

    def rate(session: int, kind: bool) -> float:
        generated, total = counts[session, kind]
        return (generated + 1) / (total + 2)

    tested = []
    for i, j in combinations(sorted(answers), 2):
        shared = answers[i].keys() & answers[j].keys()
        if len(shared) < MIN_SHARED:
            continue
        q = [rate(i, kinds[x]) * rate(j, kinds[x]) + (1 - rate(i, kinds[x])) * (1 - rate(j, kinds[x]))
             for x in shared]
        agreed = sum(answers[i][x] == answers[j][x] for x in shared)
        tested.append(FlaggedPair(i, j, len(shared), agreed, sum(q), poisson_binomial_upper_tail(q, agreed)))
    summary = CollusionSummary(len(tested))
    flagged = [p for p in tested if p.p_value < summary.threshold]
    return CollusionSummary(len(tested), sorted(flagged, key=lambda p: p.p_value))
