"""imagenet128 / imagenet128-dcgan: presets, the simultaneous step's losses, and one short CPU run that writes a grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from argmax_ties import error_count_bounds
from clitools import cli
from imagenet_folder import TINY_IMAGENET, make_image_folder

from improved_gan.config import apply_overrides
from improved_gan.errors import ConfigError
from improved_gan.experiments.presets import get_preset
from improved_gan.models.imagenet import ImageNetDiscriminator, ImageNetGenerator
from improved_gan.training.steps import make_step
from improved_gan.training.steps.imagenet import ImageNetStep, generator_target_loss


def test_presets_hold_the_authors_values():
    config = get_preset("imagenet128").validate()
    assert (config.latent_dim, config.label_smoothing, config.generator_target) == (8192, 0.75, 0.375)
    assert (config.lr, config.beta1, config.update, config.mode) == (4e-4, 0.5, "simultaneous", "supervised")
    assert (config.minibatch_kernels, config.minibatch_kernel_dim, config.batch_size) == (300, 50, 64)
    baseline = get_preset("imagenet128-dcgan").validate()
    assert (baseline.architecture, baseline.mode, baseline.latent_dim) == ("imagenet-dcgan", "gan", 100)


@pytest.mark.parametrize("overrides, fragment", [
    ({"update": "alternating"}, "update=simultaneous"),
    ({"generator_target": 1.5}, "generator_target must be in (0, 1]"),
    ({"dataset": "cifar10"}, "go together"),
    ({"labels": 10}, "mode=supervised uses every image's label"),
])
def test_bad_imagenet_configs_are_one_line_each(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("=", "=")):
        apply_overrides(get_preset("imagenet128"), overrides).validate()


def test_generator_target_loss_is_bce_of_the_gan_logit():
    logits = torch.randn(5, 7, dtype=torch.float64)
    s = torch.logsumexp(logits, dim=1)
    expected = -(0.375 * F.logsigmoid(s) + 0.625 * F.logsigmoid(-s)).mean()
    # float64 defaults (1e-7): the same logsigmoids of 5 rows, ~eps apart; a target of 1 - 0.375 errs by O(0.1)
    torch.testing.assert_close(generator_target_loss(logits, 0.375), expected)
    torch.testing.assert_close(generator_target_loss(logits, 1.0), -F.logsigmoid(s).mean())


def _tiny_pair():
    torch.manual_seed(0)
    g = ImageNetGenerator(latent_dim=8, gf_dim=1, noise_channels=1, reference_size=2)
    d = ImageNetDiscriminator(num_classes=3, df_dim=1, hidden_units=6, minibatch_kernels=2, minibatch_kernel_dim=2,
                              tower_size=2)
    return g, d


def test_the_step_updates_both_players_from_one_pass_with_the_authors_losses():
    config = apply_overrides(get_preset("imagenet128"), {"latent_dim": 8})
    g, d = _tiny_pair()
    step = make_step(config, g, d, device=torch.device("cpu"), dtype=torch.float32)
    assert isinstance(step, ImageNetStep) and step.info.kind == "imagenet"
    x, y = torch.rand(2, 3, 128, 128) * 2 - 1, torch.tensor([0, 2])
    # the losses by hand, from the same random draws
    state = torch.get_rng_state()
    z = g.sample_latent(2)
    logits = d(torch.cat([x, g(z)]), num_real=2).logits
    s = torch.logsumexp(logits, 1)
    # the class term: the cross-entropy over all K + 1 = 4 logits, the generated class's (0 here) included
    all_logits = torch.cat([logits[:2], torch.zeros(2, 1)], dim=1)
    loss_d = (F.binary_cross_entropy_with_logits(s[:2], torch.full((2,), 0.75))
              + F.binary_cross_entropy_with_logits(s[2:], torch.zeros(2)) + F.cross_entropy(all_logits, y))
    loss_g = F.binary_cross_entropy_with_logits(s[2:], torch.full((2,), 0.375))
    torch.set_rng_state(state)
    g_before = [p.detach().clone() for p in g.parameters()]
    stats = step.discriminator_step(x, x, y)
    assert all(torch.equal(a, b) for a, b in zip(g_before, g.parameters()))  # G waits for its own call
    stats.update(step.generator_step(x))
    # rtol 1e-5 (and for loss_g): the step's float32 pass and this one round differently (other kernels for the step's
    # shapes, any CPU), by ~1e-7 relative per logit through the tiny networks; O(1) losses of log-sum-exps
    # carry that. A wrong target (0.75, 0.375) or a class loss over K logits errs by > 1e-2
    torch.testing.assert_close(stats["loss_d"], loss_d.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(stats["loss_sup"], F.cross_entropy(all_logits, y).detach(), rtol=1e-5, atol=1e-6)
    # the count, exact but for rows whose two best logits tie within that rounding (1e-5 of the largest logit)
    margin = 1e-5 * all_logits.detach().abs().max().item()
    fewest, most = error_count_bounds(all_logits.detach().double().numpy(), y.numpy(), margin=margin)
    assert fewest <= int(stats["train_errors"]) <= most
    torch.testing.assert_close(stats["loss_g"], loss_g.detach(), rtol=1e-5, atol=1e-6)
    assert not all(torch.equal(a, b) for a, b in zip(g_before, g.parameters()))
    with pytest.raises(RuntimeError, match="call discriminator_step first"):
        step.generator_step(x)


def test_a_short_cpu_run_of_imagenet128_writes_a_grid(tmp_path):
    folder = make_image_folder(tmp_path / "train")
    run = tmp_path / "run"
    cli("train", "imagenet128", *TINY_IMAGENET, "--data-dir", str(folder), "--out", str(run))
    assert (run / "samples").is_dir() and any((run / "samples").glob("*.png"))
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["step"] == "imagenet" and row["iterations"] == 2
    assert all(torch.isfinite(torch.tensor(row[k])) for k in ("loss_d", "loss_g", "loss_sup"))
    assert (run / "checkpoints" / "last.pt").is_file()


def test_a_folder_with_another_class_count_is_refused_before_the_run_folder(tmp_path):
    folder = make_image_folder(tmp_path / "train", classes=2, per_class=2)
    run = tmp_path / "run"
    result = cli("train", "imagenet128", *TINY_IMAGENET, "--data-dir", str(folder), "--out", str(run), check=False)
    assert result.returncode != 0 and "2 class folders, expected 3" in result.stderr
    assert not run.exists()
