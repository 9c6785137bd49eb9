r"""Agreement between annotators: Krippendorff's alpha for nominal judgements.

Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability". Units are
images, values are the annotators' answers (real / generated); any number of
annotators may judge a unit, and units judged once carry no information about
agreement and are left out. With :math:`o_{ck}` the coincidences of values
:math:`c, k` (each ordered pair of answers within unit :math:`u` weighted
:math:`1/(m_u - 1)`, :math:`m_u` the unit's answers), :math:`n_c = \sum_k o_{ck}`
and :math:`n = \sum_c n_c`:

.. math::

    \alpha = 1 - (n - 1) \frac{\sum_{c \ne k} o_{ck}}{\sum_{c \ne k} n_c n_k}

1 is perfect agreement, 0 what chance gives, below 0 systematic disagreement.
Undefined (NaN) when fewer than two answers are pairable or all pairable
answers are equal.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Hashable, Iterable, Sequence


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable]]) -> float:
    """Alpha over ``units``, each the list of answers given to one item (any hashable values)."""
    coincidences: Counter = Counter()  # (c, k) -> o_ck
    for answers in units:
        m = len(answers)
        if m < 2:
            continue
        counts = Counter(answers)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k  # ordered pairs, no self-pairs
                coincidences[c, k] += pairs / (m - 1)
    totals: Counter = Counter()
    for (c, _), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values())
    disagree = sum(o for (c, k), o in coincidences.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if n <= 1 or expected == 0:
        return math.nan
    return 1.0 - (n - 1) * disagree / expected
