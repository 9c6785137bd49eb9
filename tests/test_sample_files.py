"""SampleFiles (sample_files.py): the format a path implies, the counts each format holds, the paths it may
write, and the files it writes."""

from __future__ import annotations

import errno
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from clitools import fake_run
from PIL import Image

from improved_gan.config import MAX_SAMPLE_GRID
from improved_gan.errors import UserError
from improved_gan.image_sources import read_image_folder, read_npz_images
from improved_gan.sample_files import MAX_SAMPLES, SampleFiles, written_by_sample
from improved_gan.utils.signals import STOP_SIGNALS, terminate_as_interrupt
from improved_gan.utils.image_grid import make_grid
from improved_gan.utils.signals import Terminated


@pytest.mark.parametrize("out, fmt, implied", [
    ("a.png", None, "grid"), ("a.PNG", None, "grid"), ("a.npz", None, "npz"), ("pngs", None, "png-folder"),
    ("a.png", "grid", "grid"), ("x.tar", "npz", "npz"), ("a.jpg", "png-folder", "png-folder"),
])  # fmt: skip
def test_the_format_is_the_one_asked_for_else_the_one_the_path_implies(out, fmt, implied):
    assert SampleFiles(Path(out), 4, format=fmt).format == implied


@pytest.mark.parametrize("out, n, fmt, says", [
    ("a.png", 0, None, "--n must be positive (got 0)"),
    ("a.jpg", 4, None, "--out must be FILE.png, FILE.npz or a FOLDER without a suffix"),
    ("a.png", 4, "npz", "--format npz does not fit --out a.png (that names a grid)"),
    ("a.png", MAX_SAMPLE_GRID + 1, None, f"a PNG grid holds at most {MAX_SAMPLE_GRID:,} images"),
    ("a.npz", MAX_SAMPLES + 1, None, f"at most {MAX_SAMPLES:,} images per call"),
])  # fmt: skip
def test_a_count_or_path_the_format_cannot_take_is_refused(out, n, fmt, says):
    with pytest.raises(UserError) as refused:
        SampleFiles(Path(out), n, format=fmt)
    assert str(refused.value).startswith(says)


def test_the_largest_counts_are_taken():
    SampleFiles(Path("a.png"), MAX_SAMPLE_GRID)
    SampleFiles(Path("a.npz"), MAX_SAMPLES)


def test_check_out_keeps_users_and_runs_files(tmp_path):
    """``--overwrite`` replaced any file of the user's (a 5-byte text file named user.png): now only one that
    `sample` wrote."""
    run = fake_run(tmp_path / "run")
    (tmp_path / "mine.npz").write_text("my own file")
    (tmp_path / "mine.png").write_text("mine!")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    SampleFiles(tmp_path / "new.png").check_out()
    for files, says in ((SampleFiles(tmp_path / "mine.npz"), "exists; name a new .npz file, or remove it yourself"),
                        (SampleFiles(tmp_path / "mine.npz", overwrite=True), "not written by `improved-gan sample`"),
                        (SampleFiles(tmp_path / "mine.png", overwrite=True), "not written by `improved-gan sample`"),
                        (SampleFiles(tmp_path / "full"), "is not an empty folder"),
                        (SampleFiles(run / "config.json", format="npz", overwrite=True), "is a file of the run"),
                        (SampleFiles(run / "new.png"), "lies inside the run folder")):
        with pytest.raises(UserError, match=says):
            files.check_out()
    assert (tmp_path / "mine.npz").read_text() == "my own file" and (tmp_path / "mine.png").read_text() == "mine!"


@pytest.mark.parametrize("name", ["s.png", "s.npz"])
def test_overwrite_replaces_only_what_sample_wrote(tmp_path, name):
    images = np.zeros((3, 4, 4, 1), np.uint8)
    SampleFiles(tmp_path / name, 3).write(images)
    assert written_by_sample(tmp_path / name)
    with pytest.raises(UserError, match="exists; name a new .* or add --overwrite to replace it"):
        SampleFiles(tmp_path / name).check_out()
    SampleFiles(tmp_path / name, overwrite=True).check_out()


def test_each_format_writes_the_images_and_readers_ignore_the_mark(tmp_path):
    """The grid's text chunk and the .npz's entry ``written_by`` change nothing a reader of images sees."""
    images = np.random.default_rng(0).integers(0, 256, (3, 4, 4, 1), dtype=np.uint8)
    SampleFiles(tmp_path / "x.npz", 3).write(images)
    assert np.array_equal(np.load(tmp_path / "x.npz")["x"], images)
    assert np.array_equal(read_npz_images(tmp_path / "x.npz"), images)  # what `score` and `turing create` read
    SampleFiles(tmp_path / "pngs", 3).write(images)
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert np.array_equal(read_image_folder(tmp_path / "pngs"), images)
    (tmp_path / "empty").mkdir()
    SampleFiles(tmp_path / "empty", 3).write(images)  # an empty folder is filled
    assert np.array_equal(read_image_folder(tmp_path / "empty"), images)
    SampleFiles(tmp_path / "g.png", 3).write(images)
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.info["Software"] == "improved-gan sample"
        assert np.array_equal(np.asarray(grid), make_grid(images)[..., 0])
    assert written_by_sample(tmp_path / "g.png") and written_by_sample(tmp_path / "x.npz")
    assert not written_by_sample(tmp_path / "pngs" / "000000.png")  # a PNG without the mark


def test_a_png_folder_gets_a_new_folders_mode_not_the_staging_folders(tmp_path):
    """The staging folder is made by mkdtemp (mode 0700), and the finished folder was that folder."""
    images = np.zeros((2, 4, 4, 1), np.uint8)
    mask = os.umask(0o022)
    try:
        SampleFiles(tmp_path / "pngs", 2).write(images)
        (tmp_path / "reference").mkdir()
    finally:
        os.umask(mask)
    assert (tmp_path / "pngs").stat().st_mode & 0o777 == (tmp_path / "reference").stat().st_mode & 0o777 == 0o755


def _stop_at_the_third_png(monkeypatch, stop: BaseException) -> None:
    """Every third PNG of a folder raises ``stop`` instead of being written (a full disk, Ctrl-C, SIGTERM)."""
    written = []

    def write_bytes(path, data):
        written.append(path)
        if len(written) % 3 == 0:
            raise stop
        return real(path, data)

    real = Path.write_bytes
    monkeypatch.setattr(Path, "write_bytes", write_bytes)


@pytest.mark.parametrize("stop", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt(),
                                  Terminated()], ids=["full-disk", "ctrl-c", "sigterm"])
def test_a_png_folder_stopped_half_way_leaves_nothing(tmp_path, monkeypatch, stop):
    """The hidden staging folder was left with the PNGs written so far (7,784 after SIGTERM; 513 filling a disk),
    while the message said nothing was left half-written."""
    _stop_at_the_third_png(monkeypatch, stop)
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty"):
        with pytest.raises(type(stop)):
            SampleFiles(out, 5).write(np.zeros((5, 4, 4, 1), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"] and not any((tmp_path / "empty").iterdir())


def test_a_second_ctrl_c_does_not_stop_the_clean_up_half_way(tmp_path, monkeypatch):
    _stop_at_the_third_png(monkeypatch, KeyboardInterrupt())
    rmtree = shutil.rmtree

    def interrupted_rmtree(path):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again, as the removal starts
        rmtree(path)

    monkeypatch.setattr(shutil, "rmtree", interrupted_rmtree)
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        with pytest.raises(KeyboardInterrupt), terminate_as_interrupt():  # the stop handlers, as every command's
            SampleFiles(tmp_path / "pngs", 5).write(np.zeros((5, 4, 4, 1), np.uint8))
    finally:  # a stopped block keeps its handlers (a third signal would end the process): pytest's back
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert list(tmp_path.iterdir()) == []


def test_a_staging_folder_that_cannot_be_removed_is_named(tmp_path, monkeypatch):
    _stop_at_the_third_png(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))

    def rmtree(path):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    says = r"pngs was not written, and the hidden folder .* could not be removed \(Input/output error\); remove it"
    with pytest.raises(UserError, match=says) as said:
        SampleFiles(tmp_path / "pngs", 5).write(np.zeros((5, 4, 4, 1), np.uint8))
    (staging,) = tmp_path.iterdir()
    assert str(staging) in str(said.value) and staging.name.startswith(".pngs.")


def _their_file_appears_before_publishing(monkeypatch, out: Path) -> None:
    """Another process writes ``out`` as this write's bytes are synced: after check_out, before the publish."""
    from improved_gan.utils import atomic

    fsync = atomic.os.fsync

    def fsync_then_theirs(fd):
        fsync(fd)
        if not out.exists():
            out.write_bytes(b"theirs")

    monkeypatch.setattr(atomic.os, "fsync", fsync_then_theirs)


@pytest.mark.parametrize("name", ["s.png", "s.npz"])
def test_a_new_file_that_appeared_meanwhile_is_not_replaced(tmp_path, monkeypatch, name):
    """The seventh sweep: two `sample --out f.png` at once (no --overwrite) both said "wrote 100 samples to
    f.png", the second's file replacing the first's (4 of 4 tries, .png and .npz)."""
    out = tmp_path / name
    files = SampleFiles(out, 3)
    files.check_out()
    _their_file_appears_before_publishing(monkeypatch, out)
    with pytest.raises(UserError) as refused:
        files.write(np.zeros((3, 4, 4, 1), np.uint8))
    assert str(refused.value) == (f"{out} appeared meanwhile (another process wrote it); name a new "
                                  f".{name[-3:]} file (nothing was written)")
    assert out.read_bytes() == b"theirs" and os.listdir(tmp_path) == [name]  # no temporary file left


def test_overwrite_still_replaces_a_file_that_sample_wrote(tmp_path):
    images = np.zeros((3, 4, 4, 1), np.uint8)
    SampleFiles(tmp_path / "s.npz", 3).write(images)
    again = SampleFiles(tmp_path / "s.npz", 3, overwrite=True)
    again.write(images + 1, replace=again.check_out())
    assert np.array_equal(np.load(tmp_path / "s.npz")["x"], images + 1) and os.listdir(tmp_path) == ["s.npz"]


def test_a_png_folder_another_process_wrote_meanwhile_is_named_so(tmp_path, monkeypatch):
    """The loser removed its staging folder but said `error: Directory not empty: .../.pngs.XXXX.partial`,
    naming its own hidden folder."""
    out = tmp_path / "pngs"
    real = Path.write_bytes

    def theirs_first(path, data):
        if not out.exists():
            out.mkdir()
            real(out / "000000.png", b"theirs")
        return real(path, data)

    monkeypatch.setattr(Path, "write_bytes", theirs_first)
    with pytest.raises(UserError) as refused:
        SampleFiles(out, 3).write(np.zeros((3, 4, 4, 1), np.uint8))
    assert str(refused.value) == (f"another process wrote {out} meanwhile; name a new folder (nothing was "
                                  "written)")
    assert os.listdir(tmp_path) == ["pngs"] and os.listdir(out) == ["000000.png"]


@pytest.mark.parametrize("name", ["f.png", "f.npz", "pngs"])
def test_two_samples_into_the_same_new_out_one_is_refused(tmp_path, monkeypatch, capsys, name):
    """End to end: `sample RUN --seed 2 --out OUT` runs, whole, while `--seed 1 --out OUT` is writing (once its
    bytes are synced, or its first PNG written); the first is refused in one line, exit 2, and leaves nothing."""
    from improved_gan.cli.main import main
    from improved_gan.training import sampling
    from improved_gan.utils import atomic

    run, out = fake_run(tmp_path / "run", checkpoint=True), tmp_path / name
    monkeypatch.setattr(sampling, "sample_images",
                        lambda run, n, seed, device: np.full((n, 4, 4, 1), seed, np.uint8))
    owner, attribute = (Path, "write_bytes") if name == "pngs" else (atomic.os, "fsync")
    real = getattr(owner, attribute)

    def the_other_sample_first(*args):
        monkeypatch.setattr(owner, attribute, real)
        assert main(["sample", str(run), "--n", "4", "--seed", "2", "--out", str(out)]) == 0
        return real(*args)

    monkeypatch.setattr(owner, attribute, the_other_sample_first)
    assert main(["sample", str(run), "--n", "4", "--seed", "1", "--out", str(out)]) == 2
    printed, err = capsys.readouterr()
    assert printed == f"wrote 4 samples to {out}\n"  # the other's line only
    said = (f"{out} appeared meanwhile (another process wrote it); name a new .{name[-3:]} file" if name != "pngs"
            else f"another process wrote {out} meanwhile; name a new folder")
    assert err == f"error: {said} (nothing was written)\n", err
    assert sorted(os.listdir(tmp_path)) == sorted(["run", name])  # no temporary file or staging folder
    theirs = np.full((4, 4, 4, 1), 2, np.uint8)  # the other call's images, --seed 2
    if name == "f.png":
        with Image.open(out) as grid:
            assert np.array_equal(np.asarray(grid), make_grid(theirs)[..., 0])
    else:
        assert np.array_equal(np.load(out)["x"] if name == "f.npz" else read_image_folder(out), theirs)
