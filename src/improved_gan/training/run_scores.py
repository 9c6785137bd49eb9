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
from improved_gan.utils.atomic import atomic_write_json


def score_entries(specs, scores, networks, *, n: int, splits: int, reference: str | None, seed: int | None) -> dict:
    """One ``scores.json`` entry per metric spec: its numbers and their provenance."""
    from improved_gan.metrics.reference import network_fingerprint

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


def merge_run_scores(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Add ``entries`` to the JSON object in ``path`` (created if absent), atomically."""
    existing: dict[str, Any] = {}
    if path.is_file():
        try:
            existing = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"{path} is not valid JSON ({err}); fix or delete it") from None
    atomic_write_json(path, {**existing, **entries})
