"""Run a table of ablations: train each variant (resumably), score its samples, write the table."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from improved_gan.config import TrainConfig
from improved_gan.experiments.ablations import Ablation
from improved_gan.image_sources import load_images
from improved_gan.metrics.evaluate import evaluate_samples, load_scoring_network
from improved_gan.metrics.registry import INCEPTION, KEY_IS_MEAN, KEY_IS_STD
from improved_gan.training.device import resolve_device
from improved_gan.training.sampling import sample_images
from improved_gan.training.trainer import ensure_trained
from improved_gan.utils.atomic import atomic_write_json, atomic_write_text


def _score(images, network, device) -> tuple[float, float]:
    scores = evaluate_samples(images, metrics=["is"], networks={INCEPTION: network}, device=device, progress=True)
    return float(scores[KEY_IS_MEAN]), float(scores[KEY_IS_STD])


def run_table(
    rows: Sequence[Ablation],
    configs: dict[str, TrainConfig],
    *,
    out: Path,
    n: int,
    weights: str | None,
    device: str,
) -> Path:
    """Train every row's config in ``out/<preset>`` (continuing unfinished runs), score ``n``
    samples with the Inception score, and write ``out/table3.md`` and ``out/table3.json``."""
    # the weights are checked before hours of training, not after
    network = load_scoring_network(INCEPTION, inception_weights=weights)
    torch_device = resolve_device(device)
    results = {}
    for row in rows:
        if row.config is None:
            data_dir = next(iter(configs.values())).data_dir if configs else None
            images = load_images("cifar10:train", data_dir=data_dir)
            results[row.name] = {"score": _score(images, network, torch_device), "epochs": None}
            continue
        config = configs[row.name]
        run_dir = out / config.preset
        ensure_trained(config, run_dir)
        images = sample_images(run_dir, n, device=torch_device)
        results[row.name] = {"score": _score(images, network, torch_device), "epochs": config.epochs}
    atomic_write_json(out / "table3.json", results)
    lines = [
        "# Table 3: Inception scores of CIFAR-10 samples",
        "",
        f"{n:,} samples per row; the paper's numbers are from its Table 3 (50,000 samples).",
        "",
        "| row | what changes | ours | paper | epochs |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        mean, std = results[row.name]["score"]
        paper = f"{row.paper_score[0]:.2f} +- {row.paper_score[1]:.2f}"
        epochs = results[row.name]["epochs"] or "-"
        lines.append(f"| {row.name} | {row.description} | {mean:.2f} +- {std:.2f} | {paper} | {epochs} |")
    path = out / "table3.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
