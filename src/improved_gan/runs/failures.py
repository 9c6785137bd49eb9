"""When a K+1 GAN run has failed: the one definition, used while a run trains and wherever it is shown.

Every failure seen so far (docs/stability.md) begins the same way: the
discriminator overpowers the generator. D separates real from generated
images almost perfectly, so its unsupervised loss (Section 5's
:math:`L_{unsupervised}`, the metrics' ``loss_unsup``) falls towards 0 and
stays there; the generator's feature-matching loss jumps (2-3 to 8-50); the
samples collapse to one blob and the classifier stops gaining from them.

**D overpowered G** (:func:`detect_failure`): the epoch mean of
``loss_unsup`` is less than :data:`UNSUP_FLOOR` (0.05) above its least
possible value in some epoch from :data:`FROM_EPOCH` (5) on. It is derived
from the runs the project had before its seed studies (docs/stability.md, "The
failure definition"): every known failure had an epoch at or below 0.034,
every run that trained well stayed at or above 0.063 from epoch 5 on. A
failure is for good: a run that has failed stays failed, whatever its later
epochs do.

The least value is 0 without label smoothing, so there the rule reads
``loss_unsup < 0.05``. One-sided label smoothing (Section 3.4, target
:math:`\alpha` for real data) keeps the loss at or above
:func:`~improved_gan.semi_supervised.least_unsupervised_loss` =
:math:`H(\alpha)/2` (0.1625 at :math:`\alpha` = 0.9) even when D separates
perfectly; measured from there, the rule sees the same failure under either
target.

In a table of several seeds (``improved-gan reproduce table1``, the stability
study) a run also fails when its test errors at the compared epoch exceed
:data:`ERROR_FACTOR` (2) times the median of the runs it is compared with
(:func:`failure_reasons`): a run that levelled off far above its peers.

The detector applies to runs whose discriminator plays the game
(:func:`plays_the_game`): not to a classifier trained on labels alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

UNSUP_FLOOR = 0.05
FROM_EPOCH = 5
ERROR_FACTOR = 2.0

FAILURE_ADVICE = (
    "Its classifier stops gaining from the generator, and its test errors are not a result of the method. "
    "Settings measured not to fail are in docs/stability.md (preset mnist-fm-stable: 0 of 60 runs of the demo's "
    "setting, 0 of 10 of full MNIST to epoch 40 on an AVX2 CPU); bf16 products, lr 0.003 and label smoothing "
    "of the real term made failures more frequent there"
)

__all__ = ["FAILURE_ADVICE", "ERROR_FACTOR", "FROM_EPOCH", "UNSUP_FLOOR", "Failure", "detect_failure", "failure_reasons",
           "plays_the_game", "run_failure"]


@dataclass(frozen=True)
class Failure:
    """Where and how D overpowered G: the first epoch that met the definition, and its losses there."""

    epoch: int
    loss_unsup: float
    loss_g: float | None
    generator_loss: str = "feature-matching"  # names loss_g in the message
    least_loss_unsup: float = 0.0  # the least value loss_unsup can take (label smoothing makes it > 0)

    def describe(self) -> str:
        """``D overpowered G at epoch 12: loss_unsup 0.0070, feature matching 7.9``."""
        text = f"D overpowered G at epoch {self.epoch}: loss_unsup {self.loss_unsup:.4f}"
        if self.least_loss_unsup > 0:
            text += f" ({self.loss_unsup - self.least_loss_unsup:.4f} above its least, {self.least_loss_unsup:.4f})"
        if self.loss_g is not None:
            name = "feature matching" if self.generator_loss == "feature-matching" else "G's loss"
            text += f", {name} {self.loss_g:.3g}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Failure":
        return cls(int(data["epoch"]), float(data["loss_unsup"]),
                   None if data.get("loss_g") is None else float(data["loss_g"]),
                   str(data.get("generator_loss", "feature-matching")), float(data.get("least_loss_unsup", 0.0)))


def plays_the_game(config: Any) -> bool:
    """True when the run's D is trained on the unsupervised (real against generated) loss."""
    return getattr(config, "mode", "semi-supervised") != "supervised" and getattr(config, "unsupervised_weight", 1) > 0


def detect_failure(
    rows: Sequence[Mapping[str, Any]], *, generator_loss: str = "feature-matching", real_target: float = 1.0
) -> Failure | None:
    """The first epoch of ``rows`` (``metrics.jsonl`` rows, in order) where D overpowered G; None if none.

    ``real_target`` is the run's real-data target (``TrainConfig.real_target``: 1, or label
    smoothing's alpha); the floor is measured from the least loss it allows. Rows without
    ``loss_unsup`` (a supervised run) never fail by this definition.
    """
    # the loss's module imports torch: here, not at the top, so that this module (and runs/report.py) stays off
    # the start-up path of a command that refuses its arguments (docs/cli.md, Start-up)
    from improved_gan.semi_supervised import least_unsupervised_loss

    least = least_unsupervised_loss(real_target)
    for row in rows:
        loss = row.get("loss_unsup")
        if row["epoch"] >= FROM_EPOCH and loss is not None and loss - least < UNSUP_FLOOR:
            return Failure(int(row["epoch"]), float(loss), row.get("loss_g"), generator_loss, least)
    return None


def run_failure(config: Any, rows: Sequence[Mapping[str, Any]]) -> Failure | None:
    """Where the run of ``config`` with metrics ``rows`` failed; None when it did not, or plays no game."""
    if not plays_the_game(config):
        return None
    return detect_failure(rows, generator_loss=config.generator_loss, real_target=config.real_target)


def failure_reasons(
    config: Any, rows: Sequence[Mapping[str, Any]], *, errors_key: str, median_errors: float, at_epoch: int
) -> list[str]:
    """Why the run with metrics ``rows`` failed among the runs it is compared with; ``[]`` when it did not.

    Args:
        config: the run's config (``TrainConfig``), for :func:`run_failure`.
        rows: the run's ``metrics.jsonl`` rows, one per epoch.
        errors_key: ``"test_errors"`` (EMA D) or ``"test_errors_raw"``.
        median_errors: the median of the compared runs' errors at ``at_epoch``.
        at_epoch: the epoch whose errors are compared (the last common one); D overpowering G counts at
            any epoch the run has reached.
    """
    reasons = []
    failure = run_failure(config, rows)
    if failure is not None:
        reasons.append(failure.describe())
    at = [r for r in rows if r["epoch"] == at_epoch]
    if at and at[0][errors_key] > ERROR_FACTOR * median_errors:
        reasons.append(f"{at[0][errors_key]} errors > {ERROR_FACTOR:g} x median {median_errors:g}")
    return reasons
