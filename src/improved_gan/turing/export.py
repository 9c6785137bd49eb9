"""The owner's exports: every vote as CSV, every image as CSV, the results as JSON.

The vote table is the raw record (one row per answered trial), enough to redo
any analysis; the JSON holds what the results page shows, with 95% intervals.
Annotators appear by their session number and optional participant code only.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from improved_gan.errors import UserError
from improved_gan.runs.out_paths import starts_with
from improved_gan.runs.out_rules import check_out_file
from improved_gan.turing.formatting import (
    format_difference,
    format_interval,
    format_p_value,
    format_proportion,
    format_rate,
)

from improved_gan.utils.atomic import atomic_write_text

if TYPE_CHECKING:  # types only: the columns and the writers import no database (`results` checks its exports first)
    from improved_gan.turing.stats import StudyResults
    from improved_gan.turing.store import Study, VoteRow

VOTE_COLUMNS = (
    "annotator", "label", "feedback", "position", "image", "kind", "origin", "score",
    "answer", "correct", "answered_at", "attention_check",
)
IMAGE_COLUMNS = ("image", "kind", "origin", "score", "votes", "called_real", "called_real_ci_low",
                 "called_real_ci_high")


def _kind(is_generated: bool) -> str:
    return "generated" if is_generated else "real"


def votes_csv(votes: Sequence[VoteRow]) -> str:
    """One row per stored vote, in session then position order (attention checks included,
    marked in ``attention_check``; the statistics never count them)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(VOTE_COLUMNS)
    for v in votes:
        writer.writerow([
            v.session_id, v.label or "", int(v.feedback), v.position, v.image_name,
            _kind(v.is_generated), v.origin, "" if v.score is None else repr(v.score),
            _kind(v.said_generated), int(v.correct), v.answered_at.isoformat(),
            int(v.attention),
        ])
    return out.getvalue()


def images_csv(results: StudyResults) -> str:
    """One row per image: how often it was called real, with the 95% Wilson interval."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(IMAGE_COLUMNS)
    for im in results.images:
        p = im.called_real
        writer.writerow([
            im.name, _kind(im.is_generated), im.origin, "" if im.score is None else repr(im.score),
            p.trials, "" if not p.trials else repr(p.estimate),
            "" if not p.trials else repr(p.low), "" if not p.trials else repr(p.high),
        ])
    return out.getvalue()


def results_dict(study: Study, results: StudyResults) -> dict:
    options = study.options
    return {
        "study": {
            "slug": options.slug,
            "title": options.title,
            "per_session": options.per_session,
            "feedback": options.feedback,
            "attention_checks": options.attention_checks,
            "attention_max_failures": options.attention_max_failures,
            "tutorial": options.tutorial,
            "hype_time": options.hype_time,
            "image_shape": list(study.image_shape),
            "created_at": study.created_at.isoformat(),
        },
        **results.to_dict(),
    }


def results_json(study: Study, results: StudyResults) -> str:
    return json.dumps(results_dict(study, results), indent=2) + "\n"


def _number(value: float, spec: str = ".3f") -> str:
    return "–" if math.isnan(value) else format(value, spec)


def _attention_line(results: StudyResults) -> str:
    a = results.attention
    if not a.checks_per_session:
        return "attention checks: none in this study"
    return (f"attention checks: {a.checks_per_session} per session; {a.annotators_checked} "
            f"annotators checked, {a.excluded} excluded from every statistic ({a.reason})")


def _collusion_line(results: StudyResults) -> str:
    c = results.collusion
    pairs = ", ".join(f"#{p.first} and #{p.second} ({p.agreed} of {p.shared} alike, "
                      f"{p.expected:.1f} expected)" for p in c.pairs_flagged)
    return (f"pairs agreeing more than independent judges could: {len(c.pairs_flagged)} of "
            f"{c.pairs_tested} tested" + (f": {pairs}" if pairs else ""))


def results_text(study: Study, results: StudyResults) -> str:
    """The results as a few lines of plain text (``improved-gan turing results``)."""
    options = study.options
    lines = [
        f"study {options.slug!r} ({options.title}): {results.votes} votes from "
        f"{len(results.annotators)} annotators, {options.per_session} images each, "
        f"feedback {options.feedback}",
        "accuracy = fraction of votes that were right; chance 50% (each image's kind is a "
        "fair coin); [95% intervals]",
        f"agreement between annotators (Krippendorff's alpha): {_number(results.agreement_alpha)}",
        _attention_line(results),
        _collusion_line(results),
    ]
    if results.hype_time is not None:
        h = results.hype_time
        lines.append(
            f"HYPE-time (modal exposure, 2 interleaved 3-down/1-up staircases 100-1000 ms): "
            f"{'–' if h.score_ms is None else f'{h.score_ms} ms'} over {h.trials} trials; "
            f"median |displayed - requested| "
            f"{'–' if h.displayed_error_ms is None else f'{h.displayed_error_ms:.1f} ms'}")
        excluded = "; ".join(f"{reason}: {n}" for reason, n in sorted(h.excluded.items()))
        lines.append(f"HYPE-time votes left out for their timing: {sum(h.excluded.values())}"
                     + (f" ({excluded})" if excluded else ""))
    for g in results.groups.values():
        if g.name != "all" and not g.accuracy.trials:
            continue
        lines += [
            f"  {g.name}: {g.annotators} annotators, {g.accuracy.trials} votes",
            f"    accuracy          {format_proportion(g.accuracy)} (Wilson), "
            f"{format_interval(g.annotator_bootstrap_ci)} (resampling annotators)",
            f"    on real images    {format_proportion(g.on_real)}",
            f"    on generated      {format_proportion(g.on_generated)}",
            f"    vs chance         p = {format_p_value(g.p_value_vs_chance)} (exact binomial, votes)",
            f"    HYPE-infinity     {format_rate(g.hype_infinity[0])} "
            f"{format_interval(g.hype_infinity[1:])} (error rate; resampling annotators)",
            f"    learning effect   {format_difference(g.learning_effect)} (second half - first half), "
            f"{format_interval(g.learning_effect_annotator_ci)} (resampling annotators); chance 0",
        ]
    fooled = [im for im in results.images if im.is_generated and im.called_real.trials][:5]
    if fooled:
        lines.append("  generated images called real most often:")
        lines += [f"    {im.origin}: {format_proportion(im.called_real)} of "
                  f"{im.called_real.trials} votes" for im in fooled]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Exports:
    """The files a ``results`` call writes (None: not asked for), each known by its flag in messages."""

    json: Path | None = None
    votes_csv: Path | None = None
    images_csv: Path | None = None

    def _asked(self) -> list[tuple[str, Path, str]]:
        """``(flag, path, first line of the export)`` of each export asked for."""
        every = (("--json", self.json, '{\n  "study": {\n'),
                 ("--votes-csv", self.votes_csv, ",".join(VOTE_COLUMNS) + "\n"),
                 ("--images-csv", self.images_csv, ",".join(IMAGE_COLUMNS) + "\n"))
        return [(flag, path, head) for flag, path, head in every if path is not None]

    def check(self) -> None:
        """Each export may replace only an earlier export of its kind (``results`` is run again as votes come),
        and no two name one file; checked before the store is opened."""
        named: dict[Path, str] = {}
        for flag, path, head in self._asked():
            if path.resolve() in named:
                raise UserError(f"{named[path.resolve()]} and {flag} both name {path}: the second export would "
                                "replace the first; give each its own file (nothing was written)")
            named[path.resolve()] = flag
            check_out_file(path, flag, ours=lambda p, head=head: starts_with(p, head),
                           outside="write the export outside it")

    def write(self, study: Study, results: StudyResults, votes: Sequence[VoteRow]) -> Iterator[Path]:
        """Write each export (atomically), yielding its path once written; a failed write is a UserError."""
        texts = {"--json": lambda: results_json(study, results), "--votes-csv": lambda: votes_csv(votes),
                 "--images-csv": lambda: images_csv(results)}
        for flag, path, _ in self._asked():
            try:
                atomic_write_text(path, texts[flag]())
            except OSError as err:
                raise UserError(f"cannot write {path}: {err.strerror or err}") from None
            yield path
