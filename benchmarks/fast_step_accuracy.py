"""Train mnist-fm with a chosen training step, to compare the fast step's accuracy with the reference's.

Issue 8 asks that the fast step (:mod:`improved_gan.training.steps.fast`) leave the
test error unchanged: on full MNIST with 100 labels, runs of each step with the
same seeds and epochs, test errors within the seed-to-seed spread. This script
runs one such training, with the step chosen explicitly whatever the trainer
would pick: ``reference`` (:class:`~improved_gan.training.steps.reference.ReferenceStep`) or
``fast`` (:func:`~improved_gan.training.steps.fast.build_step`). The run folder is an
ordinary one (``improved-gan eval/report`` read it); running the command again
on an unfinished folder resumes it.

    python benchmarks/fast_step_accuracy.py --step fast --precision bf16 --seed 0 --epochs 20 \\
        --data-dir /work/shared/data --out runs/speed/fast-bf16-s0
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from improved_gan.config import load_config
from improved_gan.errors import UserError
from improved_gan.experiments.presets import get_preset
from improved_gan.runs import checkpoint as ckpt
from improved_gan.training.steps.fast import build_step
from improved_gan.runs.layout import CONFIG
from improved_gan.training.steps.reference import ReferenceStep
from improved_gan.training.trainer import Trainer, prepare_run_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", choices=("reference", "fast"), required=True)
    parser.add_argument("--out", type=Path, required=True, help="run folder (resumed if it exists)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument(
        "--noise-salt", type=lambda text: int(text, 0), default=0,
        help="fast step with the native kernels: XOR every Philox key with this value, i.e. other noise "
             "draws with the same seed, data order, labels, z and initial networks (default 0: none)",
    )
    return parser.parse_args(argv)


def open_run(args: argparse.Namespace) -> Trainer:
    """A trainer for ``args.out``: a new run, or the resumed one (its config must agree)."""
    if not (args.out / CONFIG).is_file():
        config = dataclasses.replace(
            get_preset("mnist-fm"),
            dataset=args.dataset,
            data_dir=args.data_dir,
            labels=args.labels,
            seed=args.seed,
            epochs=args.epochs,
            precision=args.precision,
        ).validate()
        prepare_run_dir(config, args.out)
    elif load_config(args.out / CONFIG).precision != args.precision:
        raise UserError(f"{args.out} was started with another precision; use its own or another --out")
    return Trainer(args.out, progress=False, step_factory=step_factory(args.step, args.noise_salt))


def step_factory(kind: str, noise_salt: int = 0):
    """A :func:`~improved_gan.training.steps.make_step`-like factory of ``kind``'s step, whatever the config says."""

    def make(config, generator, discriminator, *, device, dtype):
        if kind == "reference":
            return ReferenceStep(config, generator, discriminator, dtype=dtype)
        step = build_step(config, generator, discriminator, dtype=dtype)
        if step is None:
            raise UserError("the fast step does not apply to this configuration")
        if noise_salt:
            salt_noise(step.fast_discriminator.ops, noise_salt)
        return step

    return make


def salt_noise(ops, salt: int) -> None:
    """Make ``ops`` (:class:`~improved_gan.training.steps.fast.ops.NativeOps`) draw other noise: each key,
    still taken from PyTorch's generator (so nothing else a run draws changes), XOR ``salt``."""
    if ops.kernels is None:
        raise UserError("--noise-salt needs the native kernels (the PyTorch operations draw with torch.randn)")
    draw = ops.new_key
    ops.new_key = lambda: draw() ^ salt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.noise_salt and args.step != "fast":
        print("error: --noise-salt applies to --step fast", file=sys.stderr)
        return 2
    try:
        trainer = open_run(args)
        resumed = ckpt.latest_checkpoint(args.out) is not None
        print(f"{args.step} step ({trainer.precision}), {'resuming' if resumed else 'starting'} {args.out}", flush=True)
        result = trainer.train()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"epoch {result.epoch}: {result.metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
