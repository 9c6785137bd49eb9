"""`improved-gan sample` on a real tiny run: device names, and one PNG per image."""

from __future__ import annotations

import numpy as np
from PIL import Image

from clitools import cli


def test_sample_device_auto_and_cpu_work(tiny_run, tmp_path):
    """`--device auto` was a traceback before issue 17 (it reached torch.device as a name)."""
    for device in ("auto", "cpu"):
        result = cli("sample", str(tiny_run), "--n", "4", "--device", device, "--out", str(tmp_path / f"{device}.npz"))
        assert "Traceback" not in result.stderr
    import torch

    a, b = (np.load(tmp_path / f"{d}.npz")["x"] for d in ("auto", "cpu"))
    assert a.shape == b.shape == (4, 28, 28, 1)
    if not torch.cuda.is_available():  # auto is the CPU here: the very same images
        assert (a == b).all()


def test_sample_png_folder_writes_one_png_per_image(tiny_run, tmp_path):
    cli("sample", str(tiny_run), "--n", "12", "--out", str(tmp_path / "pngs"))
    files = sorted((tmp_path / "pngs").iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(12)]
    assert Image.open(files[0]).size == (28, 28)
    cli("sample", str(tiny_run), "--n", "12", "--out", str(tmp_path / "s.npz"))
    arrays = np.load(tmp_path / "s.npz")["x"]
    assert (np.asarray(Image.open(files[5]))[..., None] == arrays[5]).all()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_a_last_batch_of_one_image_is_folded_into_the_one_before(tiny_run, tmp_path, capsys):
    """`sample RUN --n 101` was a traceback: its last batch of one image cannot give batch statistics."""
    from clitools import one_line_error

    from improved_gan.cli.main import main
    from improved_gan.training.sampling import batch_sizes

    assert batch_sizes(101, 100) == [101] and batch_sizes(201, 100) == [100, 101]
    assert batch_sizes(200, 100) == [100, 100] and batch_sizes(3, 1) == [3] and batch_sizes(1, 100) == [1]
    assert main(["sample", str(tiny_run), "--n", "101", "--device", "cpu", "--out", str(tmp_path / "s.npz")]) == 0
    assert np.load(tmp_path / "s.npz")["x"].shape == (101, 28, 28, 1)
    one_line_error(capsys, ["sample", str(tiny_run), "--n", "1", "--device", "cpu", "--out", str(tmp_path / "one.npz")],
                   "cannot draw a lone image", "ask for 2 or more")
