"""``improved-gan classifier train``: train and cache the MNIST classifier behind the offline scores."""

from __future__ import annotations

import argparse
from pathlib import Path

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
    train.add_argument("--data-dir", help="data root holding mnist/ (else $IMPROVED_GAN_DATA, else the cache)")
    train.add_argument("--out", type=Path, help="file to write (default: the cache, named by the weights' sha256)")
    train.set_defaults(func=run_train)


def _check_out(out: Path | None) -> None:
    """``--out`` is a new file (or the cache folder can be made), checked before the training."""
    from improved_gan.metrics.classifier import classifier_cache_dir
    from improved_gan.utils.out_paths import check_folder_path, check_output_file

    if out is None:
        check_folder_path(classifier_cache_dir(), "the classifier cache (IMPROVED_GAN_CACHE)")
    elif out.is_symlink():  # a dangling link passes the checks of a path, and the save would replace it
        from improved_gan.errors import UserError

        raise UserError(f"--out {out} is a symbolic link (to {out.readlink()}); name a new file (nothing was "
                        "written)")
    else:
        check_output_file(out, what="new classifier file")


def run_train(args: argparse.Namespace) -> int:
    import time

    from improved_gan.data import load_dataset
    from improved_gan.metrics.classifier import (
        MNIST_CLASSIFIER_SHA256,
        TrainingOptions,
        classifier_accuracy,
        save_classifier,
        train_classifier,
        weights_digest,
    )

    import torch

    _check_out(args.out)  # before minutes of training: a user's file is never replaced
    train = load_dataset("mnist", root=args.data_dir, split="train")
    test = load_dataset("mnist", root=args.data_dir, split="test")
    options = TrainingOptions()
    start = time.perf_counter()
    model = train_classifier(train.images, train.labels, options=options)
    seconds = time.perf_counter() - start
    accuracy = classifier_accuracy(model, test.images, test.labels)
    kernels = torch.backends.cpu.get_cpu_capability()  # which CPU kernels made these bits
    path = save_classifier(
        model, args.out, test_accuracy=accuracy, train_seconds=round(seconds, 1), options=vars(options),
        cpu_capability=kernels, torch_version=torch.__version__,
    )  # fmt: skip
    sha256 = weights_digest(model)
    minutes = seconds / 60
    print(f"test accuracy {100 * accuracy:.2f}% on {len(test):,} MNIST test digits ({minutes:.1f} min of training)")
    print(f"saved {path}\nweights sha256 {sha256}")
    if sha256 == MNIST_CLASSIFIER_SHA256:
        print("identical to the reference classifier: scores are comparable with docs/metrics.md")
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
        return 1
    return 0
