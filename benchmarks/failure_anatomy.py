"""Inside a failure: what D and G do, iteration by iteration, while D overpowers G.

Trains one seed of the demo's setting (``mnist-fm-paper`` on ``mnist5k``, 100 labels) through the package's
own trainer and step, one arm per ``--lr`` or per ``--arm NAME:KEY=VALUE,...`` (config overrides), and records
every ``--every`` iterations (its own draws from a forked random state, so that an arm trains exactly as the
same seed and settings do in ``improved-gan train``, and as in the seed studies):

* the unsupervised loss of the step, and D's realness ``s(x) = logsumexp_k l_k(x)`` (Section 5: D(x) =
  sigmoid(s(x))) on the real and the generated batch, as their means;
* gradient norms per layer: D's after its step, G's after its step;
* G's batch-norm statistics: the mean and std (over units) of each hidden layer's batch standard deviations
  before the normalisation (a collapsing G drives them to 0 or blows them up), and the diversity of its
  samples (the mean over pixels of the std across the batch; 0 is one image repeated).

Writes ``OUT/anatomy-s{SEED}-{ARM}.jsonl`` (an ``--lr`` arm is named ``lr{LR}``) and a plot
``OUT/anatomy-s{SEED}.png`` with every arm. Examples (the figures in docs/stability.md):

    OMP_NUM_THREADS=1 python benchmarks/failure_anatomy.py --seed 4 --lr 0.001 0.003 --epochs 12 \\
        --out docs/img/stability
    OMP_NUM_THREADS=1 python benchmarks/failure_anatomy.py --seed 6 --epochs 14 --out runs/anatomy-bf16 \\
        --arm fp32:precision=fp32 --arm bf16-generator:precision=bf16,bf16_players=generator
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch


def record_generator_norms(generator: torch.nn.Module) -> tuple[list, list]:
    """Forward hooks on G's batch-statistics norms: each call appends the per-unit batch std of its input."""
    from improved_gan.layers import BatchStatisticsNorm

    stds: list[torch.Tensor] = []
    handles = [module.register_forward_hook(lambda m, inputs, out: stds.append(inputs[0].detach().float().std(0)))
               for module in generator.modules() if isinstance(module, BatchStatisticsNorm)]
    return stds, handles


def grad_norms(module: torch.nn.Module) -> dict[str, float]:
    """The gradient norm of every parameter that has one, by name."""
    return {name: float(p.grad.norm()) for name, p in module.named_parameters() if p.grad is not None}


def train_and_record(name: str, overrides: dict[str, str], args: argparse.Namespace) -> list[dict]:
    from improved_gan.config import apply_overrides
    from improved_gan.experiments.presets import get_preset
    from improved_gan.training.trainer import Trainer, learning_rate, prepare_run_dir

    config = apply_overrides(get_preset("mnist-fm-paper"), {
        "dataset": "mnist5k", "labels": 100, "seed": args.seed, "epochs": args.epochs,
        "precision": args.precision, "epoch_score_every": 0, "final_score_samples": 0, **overrides,
    }).validate()  # fmt: skip
    records = []
    with tempfile.TemporaryDirectory() as folder:
        prepare_run_dir(config, Path(folder) / "run")
        trainer = Trainer(Path(folder) / "run", progress=False)
        step, generator, discriminator = trainer.step, trainer.generator, trainer.discriminator
        stds, _ = record_generator_norms(generator)
        iteration = 0
        for epoch in range(args.epochs):
            step.set_lr(learning_rate(config, epoch))
            generator.train(), discriminator.train()
            for batch in trainer.source.batches(epoch):
                stats = step.discriminator_step(batch.x_unl, batch.x_lab, batch.y_lab)
                d_grads = grad_norms(discriminator)
                stds.clear()
                stats.update(step.generator_step(batch.x_real))
                g_grads = grad_norms(generator)
                if iteration % args.every == 0:
                    with torch.no_grad(), torch.random.fork_rng(devices=[]):  # the run's own draws stay untouched
                        x_gen = generator(generator.sample_latent(len(batch.x_unl)))
                        s_real = torch.logsumexp(discriminator(batch.x_unl).logits.float(), 1)
                        s_gen = torch.logsumexp(discriminator(x_gen).logits.float(), 1)
                    records.append({
                        "iteration": iteration, "epoch": epoch + 1, "arm": name, "lr": config.lr,
                        **{k: float(v) for k, v in stats.items() if k.startswith("loss")},
                        "s_real": float(s_real.mean()), "s_gen": float(s_gen.mean()),
                        "d_grad": d_grads, "g_grad": g_grads,
                        "g_batch_std": [[float(s.mean()), float(s.std())] for s in stds],
                        "sample_diversity": float(x_gen.flatten(1).std(0).mean()),
                    })  # fmt: skip
                iteration += 1
            print(f"{name}: epoch {epoch + 1}, loss_unsup {records[-1]['loss_unsup']:.4f}", flush=True)
    return records


def plot(arms: dict[str, list[dict]], path: Path, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("loss_unsup", "D's unsupervised loss", lambda r: r["loss_unsup"], "log"),
        ("s", "D's realness s(x): real (solid), generated (dashed)", None, "linear"),
        ("loss_g", "G's feature-matching loss", lambda r: r["loss_g"], "log"),
        ("dgrad", "gradient norm of D's last layer (solid), first layer (dashed)", None, "log"),
        ("ggrad", "gradient norm of G, all parameters", lambda r: sum(v ** 2 for v in r["g_grad"].values()) ** 0.5,
         "log"),
        ("diversity", "sample diversity (pixel std across the batch)", lambda r: r["sample_diversity"], "linear"),
    ]
    fig, axes = plt.subplots(3, 2, figsize=(11, 9), dpi=100, sharex=True)
    for ax, (key, title, value, scale) in zip(axes.flat, panels):
        for (name, records), colour in zip(arms.items(), ("tab:blue", "tab:red", "tab:green")):
            xs = [r["iteration"] for r in records]
            if key == "s":
                ax.plot(xs, [r["s_real"] for r in records], color=colour, label=name)
                ax.plot(xs, [r["s_gen"] for r in records], color=colour, linestyle="--")
            elif key == "dgrad":
                names = list(records[0]["d_grad"])
                ax.plot(xs, [r["d_grad"][names[-1]] for r in records], color=colour, label=name)
                ax.plot(xs, [r["d_grad"][names[0]] for r in records], color=colour, linestyle="--")
            else:
                ax.plot(xs, [value(r) for r in records], color=colour, label=name)
        if key == "loss_unsup":
            ax.axhline(0.05, color="grey", linewidth=0.8, linestyle=":")
        ax.set_yscale(scale)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("iteration (40 an epoch)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"The demo's setting, seed {seed}: {' against '.join(arms)}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--lr", type=float, nargs="+", default=[], help="one arm per learning rate")
    parser.add_argument("--arm", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                        help="an arm of config overrides, e.g. bf16-generator:precision=bf16,bf16_players=generator")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--every", type=int, default=4, help="record every N-th iteration")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--out", type=Path, default=Path("runs/anatomy"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    planned = {f"lr{lr}": {"lr": str(lr)} for lr in args.lr}
    for text in args.arm:
        name, _, assignments = text.partition(":")
        planned[name] = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    if not planned:
        planned = {"lr0.001": {"lr": "0.001"}, "lr0.003": {"lr": "0.003"}}  # the figure in docs/stability.md
    arms = {}
    for name, overrides in planned.items():
        arms[name] = train_and_record(name, overrides, args)
        with open(args.out / f"anatomy-s{args.seed}-{name}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in arms[name])
    plot(arms, args.out / f"anatomy-s{args.seed}.png", args.seed)
    print(f"wrote {args.out / f'anatomy-s{args.seed}.png'}")


if __name__ == "__main__":
    main()
