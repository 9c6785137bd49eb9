"""What each spawned rank runs in the data-parallel tests (torch.multiprocessing, gloo on CPU).

One job of two processes does three things and saves what the tests compare
into ``out/rank{r}.pt``: an imagenet128 run through the Trainer (parameters
and EMA after training; rank 0 also scores every epoch, with stand-in
Inception weights), virtual batch norm's reference latents built from
different seeds and then broadcast, and three Adam steps of the MNIST D (no
noise) on this rank's half of a float64 batch.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from improved_gan import semi_supervised as ss
from improved_gan.config import TrainConfig
from improved_gan.models.imagenet import ImageNetGenerator
from improved_gan.models.mnist import MNISTDiscriminator
from improved_gan.training import distributed
from improved_gan.training.distributed import DistributedContext, average_gradients_before_step
from improved_gan.training.steps.reference import make_optimizer

EQUIVALENCE_BATCH = 8
EQUIVALENCE_STEPS = 3


def equivalence_batch() -> tuple[torch.Tensor, ...]:
    """A fixed float64 global batch: labeled, unlabeled, generated images and labels."""
    g = torch.Generator().manual_seed(123)
    x = torch.rand(3, EQUIVALENCE_BATCH, 784, generator=g, dtype=torch.float64)
    return x[0], x[1], x[2], torch.randint(0, 10, (EQUIVALENCE_BATCH,), generator=g)


def discriminator_steps(context: DistributedContext) -> dict[str, torch.Tensor]:
    """``EQUIVALENCE_STEPS`` Adam steps of the MNIST D (noise off) on this rank's shard of the global batch."""
    torch.manual_seed(0)
    d = MNISTDiscriminator(input_noise=0.0, hidden_noise=0.0, hidden_sizes=(32, 16), dtype=torch.float64)
    opt = make_optimizer(TrainConfig(), list(d.parameters()))
    average_gradients_before_step(opt, context)
    rows = context.shard(torch.arange(EQUIVALENCE_BATCH).numpy())
    x_lab, x_unl, x_gen, y = (t[rows] for t in equivalence_batch())
    for _ in range(EQUIVALENCE_STEPS):
        loss = ss.discriminator_loss(d(x_unl).logits, d(x_gen).logits, logits_lab=d(x_lab).logits, labels=y).total
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.detach().clone() for k, v in d.state_dict().items()}


def run_rank(rank: int, world_size: int, port: int, run_dir: str, out_dir: str,
             inception: tuple[str, str] | None = None) -> None:
    """One rank's work; ``inception``: the (path, sha256) of stand-in Inception weights for the run's scores."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    if inception is not None:
        from inception_stand_in import trust_stand_in

        os.environ["IMPROVED_GAN_INCEPTION_WEIGHTS"] = inception[0]
        trust_stand_in(inception[1])
    context = distributed.init_from_environment("cpu")
    from improved_gan.training.trainer import Trainer, prepare_run_dir

    results: dict[str, object] = {"equivalence": discriminator_steps(context)}
    torch.manual_seed(1000 + rank)  # each rank draws its own reference latents ...
    generator = ImageNetGenerator(latent_dim=8, gf_dim=1, noise_channels=0, reference_size=2)
    results["z_ref_before"] = generator.net.reference_input.clone()
    context.broadcast_module(generator)  # ... until rank 0's are broadcast
    results["z_ref_after"] = generator.net.reference_input.clone()
    if rank == 0:
        from improved_gan.config import load_config

        prepare_run_dir(load_config(Path(run_dir) / "config.json"), Path(run_dir))
    trainer = Trainer(run_dir, progress=False)
    trainer.train()
    results["generator"] = trainer.generator.state_dict()
    results["discriminator"] = trainer.discriminator.state_dict()
    results["ema"] = trainer.step.ema.state_dict()
    if rank == 0:  # the run folder as rank 0 left it (the only rank that writes)
        results["metrics"] = (Path(run_dir) / "metrics.jsonl").read_text()
    torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    distributed.shutdown()
