"""SampleFiles (sample_files.py): the format a path implies, the counts each format holds, the paths it may
write, and the files it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import fake_run

from improved_gan.config import MAX_SAMPLE_GRID
from improved_gan.errors import UserError
from improved_gan.sample_files import MAX_SAMPLES, SampleFiles


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
    run = fake_run(tmp_path / "run")
    (tmp_path / "mine.npz").write_text("my own file")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    SampleFiles(tmp_path / "new.png").check_out()
    SampleFiles(tmp_path / "mine.npz", overwrite=True).check_out()
    for files, says in ((SampleFiles(tmp_path / "mine.npz"), "exists; name a new .npz file, or add --overwrite"),
                        (SampleFiles(tmp_path / "full"), "is not an empty folder"),
                        (SampleFiles(run / "config.json", format="npz", overwrite=True), "is a file of the run"),
                        (SampleFiles(run / "new.png"), "lies inside the run folder")):
        with pytest.raises(UserError, match=says):
            files.check_out()
    assert (tmp_path / "mine.npz").read_text() == "my own file"


def test_each_format_writes_the_images(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 4, 4, 1), dtype=np.uint8)
    SampleFiles(tmp_path / "x.npz", 3).write(images)
    assert np.array_equal(np.load(tmp_path / "x.npz")["x"], images)
    SampleFiles(tmp_path / "pngs", 3).write(images)
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    SampleFiles(tmp_path / "g.png", 3).write(images)
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
