"""``improved-gan score SOURCE``: Inception score, FID and the offline MNIST scores of images.

SOURCE is a run folder (its generator is sampled, 50,000 images by default),
a folder of PNG/JPEG images, an ``.npz`` of uint8 images, or a dataset
``NAME[:SPLIT]`` (:mod:`improved_gan.image_sources`). For a run folder the
scores are also merged into ``RUN/scores.json`` (written atomically), one entry
per metric::

    "mnist_score": {"mean": 9.1, "std": 0.02, "splits": 10, "n": 50000, "seed": 0, "network": "mnist_classifier SHA"}
    "mnist_fd": {"value": 1.7, "reference": "mnist:train", "n": 50000, "seed": 0, "network": "mnist_classifier SHA"}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from improved_gan.config import check_device_flag, load_config
from improved_gan.errors import UserError
from improved_gan.metrics.registry import INCEPTION, MNIST_CLASSIFIER, MNIST_SHAPE, default_metrics, resolve_metrics
from improved_gan.runs.guard import check_scores_can_be_written, check_unchanged_since
from improved_gan.runs.layout import CONFIG, SCORES, checkpoint_identity
from improved_gan.runs.out_paths import path_argument
from improved_gan.source_names import check_image_count, describe_source
from improved_gan.source_shapes import peek_image_shape
from improved_gan.training.seeds import check_sample_seed


def register(subparsers) -> None:
    # names are checked against improved_gan.metrics.registry (light: no torch) before anything is loaded
    metric_help = "names: is, fid, mnist_score, mnist_fd (docs/metrics.md)"
    p = subparsers.add_parser(
        "score",
        help="Inception score / FID / MNIST score of a run's generator, an image folder, an .npz or a dataset",
        description="Score images or a run's generator: the Inception score of Section 4, FID, and the offline "
        "MNIST score and MNIST FD (docs/metrics.md). For a run folder the scores are also merged into RUN/scores.json.",
    )
    p.add_argument("source", help="run folder, image folder, .npz of uint8 images, or dataset NAME[:SPLIT]")
    p.add_argument("--n", type=int, help="images to score (default: 50,000 from a generator, all of another source)")
    p.add_argument(
        "--metrics",
        help=f"comma-separated (default: mnist_score,mnist_fd for 28x28 grayscale, is otherwise). {metric_help}",
    )
    p.add_argument(
        "--reference",
        help="real images for fid / mnist_fd, any SOURCE form "
        "(default: a run's training set; mnist for 28x28 grayscale)",
    )
    p.add_argument(
        "--weights", type=path_argument,
        help="Inception weights file (else $IMPROVED_GAN_INCEPTION_WEIGHTS, else torch's cache)",
    )
    p.add_argument("--download-weights", action="store_true", help="download the Inception weights if not found")
    p.add_argument(
        "--classifier", type=path_argument,
        help="MNIST classifier file (default: the cached reference classifier, else the one `improved-gan "
        "classifier train` cached here)",
    )
    p.add_argument("--splits", type=int, help="splits of is / mnist_score (default 10, as the original)")
    p.add_argument("--seed", type=int, help="seed of the generator's z for a run folder (default 0; only with a run)")
    p.add_argument("--batch-size", type=int, default=100, help="images per forward pass (default 100)")
    p.add_argument(
        "--data-dir", type=path_argument,
        help="data root for dataset names (default: a run's own data_dir, else $IMPROVED_GAN_DATA)",
    )
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    p.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    p.set_defaults(func=run)


def _check_values(args: argparse.Namespace) -> bool:
    """Positive counts, no empty values (an empty path is path_argument's); checked before torch is imported.
    Returns whether ``--splits`` was given (its default is set once the metrics are imported)."""
    splits_given = args.splits is not None
    check_image_count(args.n, "--n")
    if args.seed is not None:
        check_sample_seed(args.seed)
    check_device_flag(args.device)
    if (splits_given and args.splits < 1) or args.batch_size < 1:
        splits = args.splits if splits_given else "the default"
        raise UserError(f"--splits and --batch-size must be positive (got {splits}, {args.batch_size})")
    for flag, value in (("--metrics", args.metrics), ("--reference", args.reference)):
        if value is not None and not value.strip():  # "" would be the default, or the working directory
            raise UserError(f"{flag} is empty; give a value or leave it out")
    return splits_given


def run(args: argparse.Namespace) -> int:
    splits_given, data_dir_given = _check_values(args), args.data_dir is not None
    asked = resolve_metrics(args.metrics) if args.metrics else None  # names, from the table (no torch)
    kind = describe_source(args.source)  # a missing file or another type, told from its name alone
    if args.seed is not None and kind != "run":
        raise UserError(f"--seed {args.seed} draws a run's generator samples, but {args.source} is not a run "
                        "folder; leave it out")
    if kind == "run":
        check_scores_can_be_written(Path(args.source))  # light: said before torch and the networks
    run_config = load_config(Path(args.source) / CONFIG) if kind == "run" else None  # light, as above
    known = asked or _default_metrics(args.source, kind, run_config)  # None: the images' headers did not tell
    if known:  # a flag these metrics leave unused is refused before torch (docs/cli.md, Start-up)
        _check_used(args, known, kind=kind, reference=args.reference, splits_given=splits_given,
                    data_dir_given=data_dir_given)
    from improved_gan.training.device import resolve_device  # torch, not yet the scoring networks (seconds more)

    device = resolve_device(args.device)
    # the scoring networks (torchvision): imported once the flags, the source and the device are checked
    from improved_gan.image_sources import load_images
    from improved_gan.metrics.evaluate import evaluate_samples
    from improved_gan.metrics.inception_formula import DEFAULT_SPLITS
    from improved_gan.runs.scores import merge_run_scores, score_entries

    args.splits = args.splits if splits_given else DEFAULT_SPLITS
    if run_config:
        _open_run(args, run_config)
    # a generator is sampled last, once everything else is known to work; other sources are cheap to read first
    images = None if run_config else load_images(args.source, n=args.n, data_dir=args.data_dir)
    run_dataset = run_config.dataset if run_config else None
    specs = known or resolve_metrics(default_metrics(images.shape[1:]))
    reference_name = _choose_reference(args.reference, run_dataset, images, specs)
    if not known:  # the default metrics of these images
        _check_used(args, specs, kind=kind, reference=reference_name, splits_given=splits_given,
                    data_dir_given=data_dir_given)

    networks = _load_networks(specs, args)
    reference = _reference(reference_name, specs, networks, args, device) if reference_name else None
    if images is None:
        sampled = checkpoint_identity(Path(args.source))
        images = load_images(args.source, n=args.n, data_dir=args.data_dir, seed=args.seed, device=device)
    scores = evaluate_samples(
        images, metrics=[s.name for s in specs], reference=reference, splits=args.splits, device=device,
        batch_size=args.batch_size, networks=networks, progress=True,
    )  # fmt: skip
    entries = score_entries(specs, scores, networks, n=len(images), splits=args.splits, reference=reference_name,
                            seed=args.seed if run_config else None)  # fmt: skip
    if run_config:  # checked and written before a line is printed: stdout's scores are the run's, or none
        check_unchanged_since(Path(args.source), sampled)  # else the scores would go to another network's run
        merge_run_scores(Path(args.source) / SCORES, entries)
    _print_entries(entries, as_json=args.json)
    if run_config and not args.json:
        print(f"wrote {Path(args.source) / SCORES}")
    return 0


def _open_run(args: argparse.Namespace, config) -> None:
    """Check that the run folder ``args.source`` (its ``config``) can give what it is asked for: ``--n`` samples
    fit in memory, its scores.json can be merged into and no link leads out of the run. ``args.data_dir``
    becomes the run's own (for its reference set) unless given, ``args.seed`` 0 unless given."""
    from improved_gan.image_sources import check_generator_count  # torch (the sampling module), as in run
    from improved_gan.runs.scores import read_run_scores  # torch (the networks' fingerprints), as in run

    args.seed = 0 if args.seed is None else args.seed
    if args.data_dir is None:
        args.data_dir = config.data_dir
    check_generator_count(args.n)  # before the networks load
    read_run_scores(Path(args.source) / SCORES)  # before the sampling: it is merged into at the end


def _load_networks(specs, args: argparse.Namespace) -> dict:
    """The scoring network of each chosen metric, once each (``--weights``, ``--classifier``)."""
    from improved_gan.metrics.evaluate import load_scoring_network  # torch, as in run

    networks = {}
    for spec in specs:
        if spec.network not in networks:
            networks[spec.network] = load_scoring_network(
                spec.network, inception_weights=args.weights, download_weights=args.download_weights,
                classifier=args.classifier,
            )  # fmt: skip
    _say_which_classifier(networks)
    return networks


def _print_entries(entries: dict[str, dict], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(entries, indent=2, sort_keys=True))
        return
    for name, entry in entries.items():
        if "mean" in entry:
            mean_std = f"{entry['mean']:.4f} +- {entry['std']:.4f}"
            print(f"{name}: {mean_std} ({entry['splits']} splits of {entry['n']:,} images)")
        else:
            print(f"{name}: {entry['value']:.4f} ({entry['n']:,} images vs {entry['reference']})")


def _default_metrics(source: str, kind: str, run_config) -> list | None:
    """Without ``--metrics``: the MNIST scores for MNIST runs and 28x28 grayscale images, else ``is``. A run's from
    its dataset's name, another source's from its images' shape read from headers (source_shapes.py); both
    without torch. None where the headers do not tell: the images, once read, do."""
    if run_config is not None:
        return resolve_metrics(("mnist_score", "mnist_fd") if run_config.dataset.startswith("mnist") else ("is",))
    shape = peek_image_shape(source, kind)
    return None if shape is None else resolve_metrics(default_metrics(shape))


def _choose_reference(given: str | None, run_dataset: str | None, images, specs) -> str | None:
    """The reference source when a metric needs one: ``--reference``, a run's training set, or MNIST's."""
    needing = [spec.name for spec in specs if spec.needs_reference]
    if not needing:
        return None
    if given:
        return given
    if run_dataset is not None:
        return f"{run_dataset}:train"
    if images.shape[1:] == MNIST_SHAPE:
        return "mnist:train"
    raise UserError(
        f"{', '.join(needing)} compares with real images: name them with --reference SOURCE (e.g. cifar10)"
    )


def _say_which_classifier(networks) -> None:
    """A classifier other than the reference scores differently: say so, with its digest."""
    from improved_gan.metrics.classifier import is_reference, weights_digest  # torch, as in run

    network = networks.get(MNIST_CLASSIFIER)
    if network is not None and not is_reference(network):
        print(f"note: MNIST classifier sha256 {weights_digest(network)[:16]}..., not the reference one; these scores "
              "compare with scores made by the same classifier, not with docs/metrics.md", file=sys.stderr)


def _check_used(args: argparse.Namespace, specs, *, kind: str, reference: str | None, splits_given: bool,
                data_dir_given: bool) -> None:
    """Every network, reference and data option given is used by a chosen metric or the source (of ``kind``,
    :func:`describe_source`): none is silently ignored. Light (the registry's table, no torch): called before
    torch is imported wherever the metrics are known then. ``reference``: the reference source, or None where
    a metric needing one will compare with its default, a dataset (a run's training set, or MNIST's)."""
    needs_reference = any(spec.needs_reference for spec in specs)
    reads_a_dataset = kind == "dataset" or (
        needs_reference and (reference is None or describe_source(reference) == "dataset"))
    names = ", ".join(spec.name for spec in specs)
    networks = {spec.network for spec in specs}
    for flag, given, used in (("--reference", args.reference, needs_reference),
                              ("--splits", args.splits if splits_given else None,
                               any(not spec.needs_reference for spec in specs)),
                              ("--weights", args.weights, INCEPTION in networks),
                              ("--download-weights", args.download_weights or None, INCEPTION in networks),
                              ("--classifier", args.classifier, MNIST_CLASSIFIER in networks)):
        if given is not None and not used:
            raise UserError(f"{flag} is not used by the metrics chosen ({names}); leave it out, or choose a "
                            "metric that needs it with --metrics")
    if data_dir_given and not reads_a_dataset:
        raise UserError(f"--data-dir {args.data_dir} is where datasets live, but neither the source nor the "
                        "reference is a dataset name (e.g. mnist:test); leave it out")


def _reference(name: str, specs, networks, args, device) -> Any:
    """Reference statistics per network for a dataset name (cached), else the reference images."""
    from improved_gan.image_sources import load_images  # torch, as in run
    from improved_gan.metrics.reference import dataset_statistics  # torch, as in run

    if describe_source(name) != "dataset":
        return load_images(name, data_dir=args.data_dir)
    dataset, _, split = name.partition(":")
    return {
        spec.network: dataset_statistics(
            spec.network, networks[spec.network], dataset, split=split or "train", data_dir=args.data_dir,
            batch_size=args.batch_size, device=device, progress=True,
        )  # fmt: skip
        for spec in specs
        if spec.needs_reference
    }
