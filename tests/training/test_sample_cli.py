"""`improved-gan sample` on a real tiny run: device names, one PNG per image, what --overwrite replaces, and
nothing left behind when it is stopped."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_overwrite_replaces_an_earlier_sample_and_never_a_users_file(tiny_run, tmp_path, capsys):
    """`sample --out user.png --overwrite` (and .npz) replaced a 5-byte text file of the user's."""
    from clitools import one_line_error

    from improved_gan.cli.main import main

    for suffix in (".png", ".npz"):
        out, mine = tmp_path / f"s{suffix}", tmp_path / f"user{suffix}"
        sample = ["sample", str(tiny_run), "--n", "4", "--device", "cpu", "--out"]
        assert main([*sample, str(out)]) == 0
        first = out.read_bytes()
        assert main([*sample, str(out), "--seed", "1", "--overwrite"]) == 0
        assert out.read_bytes() != first  # an earlier sample output is replaced, as before
        mine.write_text("mine!")
        one_line_error(capsys, [*sample, str(mine), "--overwrite"],
                       f"--out {mine} exists; name a new {suffix} file, or remove it yourself: it was not written "
                       "by `improved-gan sample`, so --overwrite does not replace it (nothing was written)")
        assert mine.read_text() == "mine!"


def test_sigterm_during_a_png_folder_leaves_nothing(tiny_run, tmp_path):
    """SIGTERM during `--n 10000 --format png-folder` left 7,784 PNGs in `.NAME.*.partial`, and said that
    nothing was left half-written."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "improved_gan", "sample", str(tiny_run), "--n", "10000",
                                "--device", "cpu", "--out", str(tmp_path / "pngs")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob(".pngs.*.partial/*.png"))) < 10:  # stopped while it writes the PNGs
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert err == "terminated (SIGTERM): nothing was left half-written (files are written atomically); run the " \
                  "command again\n"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_during_a_png_folder_leaves_nothing(tiny_run, tmp_path, monkeypatch, capsys):
    """A 2 MB disk kept 513 PNGs in `.NAME.*.partial` and stayed full; the message said nothing was left."""
    from clitools import one_line_error

    written = []

    def write_bytes(path, data):  # each PNG of the folder
        written.append(path)
        if len(written) > 50:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    real = Path.write_bytes
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    one_line_error(capsys, ["sample", str(tiny_run), "--n", "200", "--device", "cpu", "--out", str(tmp_path / "p")],
                   "No space left on device", "nothing was left half-written")
    assert len(written) == 51 and list(tmp_path.iterdir()) == []
