"""A checkpoint from another preset (issue 16, "Bad input"): one line naming both presets and what to do,
exit status 2, and every file of the run folders byte-identical afterwards.

The cases: ``resume RUN PRESET`` and ``train PRESET --out RUN`` where RUN is a run of another
preset; a run folder whose checkpoint file was copied in from a run of another preset; and one whose
checkpoint's networks belong to another model while its config claims this run's (before issue 16 a
state-dict traceback, after ``--epochs`` had rewritten config.json). In-process (``main([...])``); the
runs are the tiny imagenet128 / imagenet128-dcgan CPU runs and the tiny mnist-fm run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from clitools import one_line_error
from imagenet_folder import TINY_IMAGENET

from improved_gan.cli.main import main

pytestmark = pytest.mark.usefixtures("one_thread")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def imagenet_runs(image_folder, tmp_path_factory, one_thread) -> dict[str, Path]:
    """One finished tiny run of each ImageNet preset (one epoch, 2 steps)."""
    root = tmp_path_factory.mktemp("imagenet-runs")
    for preset in ("imagenet128", "imagenet128-dcgan"):
        argv = ["train", preset, *TINY_IMAGENET, "--data-dir", str(image_folder), "--out", str(root / preset)]
        assert main(argv) == 0
    return {preset: root / preset for preset in ("imagenet128", "imagenet128-dcgan")}


@pytest.fixture
def runs(imagenet_runs, tiny_run, tmp_path) -> dict[str, Path]:
    """Private copies of the imagenet128, imagenet128-dcgan and mnist-fm runs."""
    copies = {}
    for preset, run in {**imagenet_runs, "mnist-fm": tiny_run}.items():
        copies[preset] = tmp_path / preset
        shutil.copytree(run, copies[preset])
    return copies


@pytest.mark.parametrize("other", ["mnist-fm", "imagenet128-dcgan"])
def test_train_imagenet128_with_resume_of_another_presets_run(runs, other, capsys):
    run = runs[other]
    before = _files(run)
    one_line_error(capsys, ["resume", str(run), "imagenet128"],
             f"is a run of preset {other}, not imagenet128", f"`improved-gan resume {run}`",
             "`improved-gan train imagenet128 --out NEW`")
    assert _files(run) == before


def test_train_imagenet128_into_a_folder_holding_another_presets_run(runs, image_folder, capsys):
    run = runs["mnist-fm"]
    before = _files(run)
    one_line_error(capsys, ["train", "imagenet128", *TINY_IMAGENET, "--data-dir", str(image_folder), "--out", str(run)],
             "already holds a run of preset mnist-fm, not imagenet128", "choose another --out",
             f"`improved-gan resume {run}`")
    assert _files(run) == before


@pytest.mark.parametrize("other", ["mnist-fm", "imagenet128-dcgan"])
def test_a_checkpoint_copied_in_from_another_preset_is_refused_and_nothing_changes(runs, other, capsys):
    run = runs["imagenet128"]
    shutil.copyfile(runs[other] / "checkpoints" / "last.pt", run / "checkpoints" / "last.pt")
    before = _files(run)
    says = (f"was trained by preset {other}", "is a run of preset imagenet128",
            "the checkpoint belongs to another run", "nothing was changed")
    one_line_error(capsys, ["resume", str(run), "--epochs", "2"], *says)
    one_line_error(capsys, ["sample", str(run), "--n", "4", "--out", str(run.parent / "g.png")], *says)
    assert _files(run) == before and not (run.parent / "g.png").exists()


def test_a_checkpoint_of_another_model_under_this_runs_config_is_one_line_not_a_traceback(runs, capsys):
    """The dcgan run's networks in a checkpoint whose config says imagenet128: the configs agree, the
    tensors do not."""
    run = runs["imagenet128"]
    ours = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    theirs = torch.load(runs["imagenet128-dcgan"] / "checkpoints" / "last.pt", weights_only=False)
    torch.save({**theirs, "config": ours["config"]}, run / "checkpoints" / "last.pt")
    before = _files(run)
    says = ("holds a generator that the networks of", "(preset imagenet128) cannot load",
            "missing (net.reference_input, ...)", "written by another model", "nothing was changed")
    one_line_error(capsys, ["resume", str(run), "--epochs", "2"], *says)
    one_line_error(capsys, ["sample", str(run), "--n", "4", "--out", str(run.parent / "g.png")], *says)
    assert _files(run) == before


def test_a_checkpoint_for_images_of_another_shape_is_one_line(tiny_run, tmp_path, capsys):
    """A checkpoint recording 3x32x32 images under mnist-fm's config: the networks the config builds for it are
    refused before any tensor is loaded (training/checkpoint_fit.load_checkpoint_networks), for sample and eval."""
    run = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    torch.save({**state, "image_shape": [3, 32, 32]}, run / "checkpoints" / "last.pt")
    before = _files(run)
    says = ("the checkpoint in", "does not fit", "(3, 32, 32)", "nothing was changed")
    one_line_error(capsys, ["sample", str(run), "--n", "4", "--out", str(tmp_path / "g.png")], *says)
    one_line_error(capsys, ["eval", str(run)], *says)
    assert _files(run) == before and not (tmp_path / "g.png").exists()
