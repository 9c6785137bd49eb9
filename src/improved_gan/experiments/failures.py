"""When a semi-supervised MNIST run counts as failed: one definition, fixed before any run was looked at.

Both failures seen so far begin the same way (docs/stability.md): the
discriminator overpowers the generator, its unsupervised loss falls towards 0
and stays there, the feature-matching loss jumps, and the test error stops
falling. So a run FAILS when

1. the epoch mean of ``loss_unsup`` is below :data:`UNSUP_FLOOR` (0.05) in any
   epoch from :data:`FROM_EPOCH` (5) on, or
2. its test errors at the compared epoch exceed :data:`ERROR_FACTOR` (2) times
   the median of the runs it is compared with (the same label count in a
   table; both arms of the stability study).

The stability study (``benchmarks/stability_study.py``) and
``improved-gan reproduce table1`` both count failures with :func:`failure_reasons`.
"""

from __future__ import annotations

from typing import Any, Sequence

UNSUP_FLOOR = 0.05
FROM_EPOCH = 5
ERROR_FACTOR = 2.0


def failure_reasons(
    rows: Sequence[dict[str, Any]], *, errors_key: str, median_errors: float, at_epoch: int
) -> list[str]:
    """Why the run with metrics ``rows`` failed by the definition above; ``[]`` when it did not.

    Args:
        rows: the run's ``metrics.jsonl`` rows, one per epoch.
        errors_key: ``"test_errors"`` (EMA D) or ``"test_errors_raw"``.
        median_errors: the median of the compared runs' errors at ``at_epoch``.
        at_epoch: the epoch compared (the last common one).
    """
    reasons = []
    low = [r["epoch"] for r in rows if r["epoch"] >= FROM_EPOCH and r.get("loss_unsup", 1.0) < UNSUP_FLOOR]
    if low:
        reasons.append(f"loss_unsup < {UNSUP_FLOOR} from epoch {low[0]}")
    at = [r for r in rows if r["epoch"] == at_epoch]
    if at and at[0][errors_key] > ERROR_FACTOR * median_errors:
        reasons.append(f"{at[0][errors_key]} errors > {ERROR_FACTOR:g} x median {median_errors:g}")
    return reasons
