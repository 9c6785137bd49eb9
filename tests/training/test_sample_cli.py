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
