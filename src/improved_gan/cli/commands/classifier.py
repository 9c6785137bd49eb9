"""``improved-gan classifier train``: train and cache the MNIST classifier behind the offline scores."""

from __future__ import annotations

import argparse
from pathlib import Path

from improved_gan.errors import UserError
from improved_gan.metrics.cache import classifier_cache_dir
from improved_gan.metrics.classifier_recipe import (
    MNIST_TRAINING_IMAGES,
    TrainingOptions,
    check_cache_takes,
    is_shortened,
)
from improved_gan.runs.out_paths import path_argument
from improved_gan.runs.out_rules import check_out_file, check_out_folder
from improved_gan.utils.progress import bars_shown

MIN_TEST_ACCURACY = 0.993
"""The accuracy the reference classifier must reach on the MNIST test set."""


def register(subparsers) -> None:
    p = subparsers.add_parser("classifier", help="the MNIST classifier behind mnist_score and mnist_fd")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser(
        "train",
        help="train it on the MNIST training set and cache it (a few minutes on a CPU)",
        description="Train the MNIST classifier (docs/metrics.md) on the 60,000 training digits, report its "
        "accuracy on the 10,000 test digits, and save it to the cache (or --out).",
    )
    train.add_argument("--data-dir", type=path_argument,
                       help="data root holding mnist/ (else $IMPROVED_GAN_DATA, else the cache)")
    train.add_argument("--out", type=path_argument, help="file to write (default: the cache, named by the weights' sha256)")
    train.add_argument("--epochs", type=int, help="passes over the training digits (default 3, the reference's)")
    train.add_argument("--train-images", type=int, metavar="N",
                       help="train on the first N training digits only (default: all 60,000); with --epochs, "
                       "a quick classifier for trying the commands, not the reference")
    train.set_defaults(func=run_train)


def _check_epochs(args: argparse.Namespace) -> None:
    if args.epochs is not None and args.epochs < 1:
        raise UserError(f"--epochs must be at least 1 (got {args.epochs})")


def _options(args: argparse.Namespace):
    """The training recipe: the reference's unless --epochs or --train-images shorten it (checked against a
    batch of the recipe and the 60,000 official MNIST training digits, the only ones the loader accepts)."""
    options = TrainingOptions() if args.epochs is None else TrainingOptions(epochs=args.epochs)
    if args.train_images is not None:
        options.check_images(args.train_images, MNIST_TRAINING_IMAGES)
    return options


def _check_out(out: Path | None) -> None:
    """``--out`` is a new file (or the cache folder can be made), checked before the training."""
    if out is None:
        check_out_folder(classifier_cache_dir(), "the classifier cache (IMPROVED_GAN_CACHE)")
    else:
        check_out_file(out, what="classifier file", outside="write the classifier outside it")


def run_train(args: argparse.Namespace) -> int:
    _check_epochs(args)  # the flags first, one line each, before torch is imported (docs/cli.md, Start-up)
    options = _options(args)  # --train-images and --epochs
    shortened = is_shortened(options, args.train_images)
    check_cache_takes(shortened, args.out)
    _check_out(args.out)  # and before minutes of training: a user's file is never replaced
    import time

    from improved_gan.data import load_dataset
    from improved_gan.metrics.classifier import (
        MNIST_CLASSIFIER_SHA256,
        classifier_accuracy,
        save_classifier,
        train_classifier,
        weights_digest,
    )

    import torch

    train = load_dataset("mnist", root=args.data_dir, split="train")
    test = load_dataset("mnist", root=args.data_dir, split="test")  # the official files: 60,000 and 10,000 digits
    n = len(train) if args.train_images is None else args.train_images
    start = time.perf_counter()
    model = train_classifier(train.images[:n], train.labels[:n], options=options, progress=bars_shown())
    seconds = time.perf_counter() - start
    accuracy = classifier_accuracy(model, test.images, test.labels)
    kernels = torch.backends.cpu.get_cpu_capability()  # which CPU kernels made these bits
    path = save_classifier(
        model, args.out, test_accuracy=accuracy, train_seconds=round(seconds, 1), options=vars(options),
        train_images=n, cpu_capability=kernels, torch_version=str(torch.__version__),
    )  # fmt: skip
    sha256 = weights_digest(model)
    minutes = seconds / 60
    print(f"test accuracy {100 * accuracy:.2f}% on {len(test):,} MNIST test digits ({minutes:.1f} min of training)")
    print(f"saved {path}\nweights sha256 {sha256}")
    if sha256 == MNIST_CLASSIFIER_SHA256:
        print("identical to the reference classifier: scores are comparable with docs/metrics.md")
    elif shortened:
        print(f"a shortened recipe ({options.epochs} epoch{'s' if options.epochs != 1 else ''} of {n:,} digits), "
              f"not the reference classifier: its scores compare only with scores made by this file; score with "
              f"it: `improved-gan score SOURCE --classifier {path}`")
    else:
        used = (
            "`improved-gan score` and the end-of-run scores of training runs use it from now on"
            if args.out is None
            else f"score with it: `improved-gan score SOURCE --classifier {path}`"
        )
        print(
            f"differs in its last bits from the reference classifier (sha256 {MNIST_CLASSIFIER_SHA256[:16]}...): "
            f"this CPU ran {kernels} kernels, and the weights' rounding follows the kernels a CPU selects "
            f"(docs/metrics.md). {used}. Each score records the classifier's sha256; compare scores made with "
            "the same one (docs/metrics.md's numbers use the reference)"
        )
    if accuracy < MIN_TEST_ACCURACY:
        print(f"warning: below the {100 * MIN_TEST_ACCURACY:.1f}% the reference classifier reaches")
        return 0 if shortened else 1  # a shortened recipe is asked for: its accuracy is said, not an error
    return 0
