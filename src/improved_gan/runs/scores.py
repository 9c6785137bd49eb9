"""Scores that belong to a run folder: ``RUN/scores.json``, one entry per metric.

Both ``improved-gan score RUN`` and the trainer (at the end of a run,
:mod:`improved_gan.training.sample_scores`) write here, through
:func:`score_entries` and :func:`merge_run_scores`; the report
reads the file. Entries record where their numbers came from::

    "mnist_score": {"mean": 9.1, "std": 0.02, "splits": 10, "n": 10000, "seed": 0, "network": "mnist_classifier SHA"}
    "mnist_fd": {"value": 1.7, "reference": "mnist:train", "n": 10000, "seed": 0, "network": "mnist_classifier SHA"}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from improved_gan.errors import UserError
from improved_gan.metrics.reference import network_fingerprint
from improved_gan.utils.atomic import atomic_write_json


def score_entries(specs, scores, networks, *, n: int, splits: int, reference: str | None, seed: int | None) -> dict:
    """One ``scores.json`` entry per metric spec: its numbers and their provenance."""
    entries = {}
    for spec in specs:
        provenance = {"n": n, "network": f"{spec.network} {network_fingerprint(networks[spec.network])}"}
        if seed is not None:
            provenance["seed"] = seed
        values = [scores[key] for key in spec.keys]
        if spec.needs_reference:
            entries[spec.name] = {"value": values[0], "reference": reference, **provenance}
        else:
            entries[spec.name] = {"mean": values[0], "std": values[1], "splits": splits, **provenance}
    return entries


def read_run_scores(path: Path) -> dict[str, Any]:
    """The JSON object of scores in a run's ``path`` ({} when absent); a folder, a file that is not JSON
    or not UTF-8, or JSON that is not an object is a UserError (scores could not be merged into it)."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; the scores are merged into a file of that name: move it away")
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path} is not valid JSON ({err}); fix or delete it (nothing was written)") from None
    if not isinstance(record, dict):
        raise UserError(f"{path} holds a JSON {type(record).__name__}, not the object of scores a run keeps; "
                        "fix or delete it (nothing was written)")
    return record


def merge_run_scores(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Add ``entries`` to the JSON object in ``path`` (created if absent), atomically."""
    atomic_write_json(path, {**read_run_scores(path), **entries})
