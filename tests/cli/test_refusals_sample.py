"""What `improved-gan sample RUN` refuses: one line (``error: ...``, exit status 2) before anything is sampled,
and the run and the user's files as they were.

Each row of the table was, before, a traceback (torch's OverflowError for a seed, a grid too large to build),
a file written inside a run (which `resume` then wrote over), a run's own file or a user's file replaced with
exit status 0, or a failure only after sampling. In-process (``main([...])``) with hand-made run folders
(``fake_run``); nothing trains. Every command's rule for an output inside a run: test_out_rules.py.
"""

from __future__ import annotations

import pytest
from clitools import fake_run, refusal, refuses


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The working directory: run/ (a finished run with last.pt, previous.pt and an epoch's grid), untrained/
    (a run without a checkpoint: a refusal there comes before the checkpoint is looked for), and the user's
    notes.txt, mine.png, mine.npz, mine/keep.txt, an empty folder, a link to it and a dangling link."""
    run = fake_run(tmp_path / "run", epochs_done=2, checkpoint=True, previous=True)
    (run / "samples").mkdir()
    (run / "samples" / "epoch-0001.png").write_bytes(b"a grid")
    fake_run(tmp_path / "untrained")
    (tmp_path / "notes.txt").write_text("x")
    for name in ("mine.png", "mine.npz"):
        (tmp_path / name).write_text("my own file")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "link-to-empty").symlink_to(tmp_path / "empty", target_is_directory=True)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    return tmp_path


RUN, UNTRAINED = "{tmp}/run", "{tmp}/untrained"


@pytest.mark.parametrize("case", [
    # --out inside the run: it holds only what its trainer writes (`resume` wrote the epoch's grid over a sample)
    *[refusal(f"new-{what}-inside-the-run", ["sample", RUN, "--n", "4", "--out", f"{RUN}/{name}"],
              "lies inside the run folder", "nothing was written")
      for what, name in (("grid", "samples/epoch-0002.png"), ("plot", "test_errors.png"), ("npz", "mine.npz"),
                         ("png-folder", "pngs"))],
    # --overwrite never replaces a run's own file (an .npz was written over its config.json)
    *[refusal(f"overwrite-the-runs-{what}", ["sample", RUN, "--out", f"{RUN}/{name}", "--format", fmt,
                                             "--overwrite"], "is a file of the run", "never replaces a run's own files")
      for what, name, fmt in (("config", "config.json", "npz"), ("metrics", "metrics.jsonl", "npz"),
                              ("checkpoint", "checkpoints/last.pt", "npz"),
                              ("grid", "samples/epoch-0001.png", "grid"))],
    # a user's file is never replaced: --overwrite replaced it (exit status 0), as it replaces a file sample wrote
    *[refusal(f"users-{kind}{flag}", ["sample", UNTRAINED, "--out", f"{{tmp}}/mine.{kind}", *flags],
              f"mine.{kind} exists; name a new .{kind} file, or remove it yourself",
              "not written by `improved-gan sample`, so --overwrite does not replace it")
      for kind in ("png", "npz") for flag, flags in (("", []), ("-with-overwrite", ["--overwrite"]))],
    refusal("png-folder-not-empty", ["sample", RUN, "--out", "{tmp}/mine"], "not an empty folder"),
    # a png-folder through a link: sampled, then "Not a directory: .dangling.9gzyeaql.partial"
    *[refusal(f"png-folder-{name}", ["sample", RUN, "--out", f"{{tmp}}/{name}"],
              f"--out {{tmp}}/{name} is a symbolic link (to {{tmp}}/{target})", "name a new folder")
      for name, target in (("link-to-empty", "empty"), ("dangling", "nowhere"))],
    refusal("out-under-a-file", ["sample", UNTRAINED, "--out", "{tmp}/notes.txt/grid.png"],
            "notes.txt is a file, not a folder"),  # "File exists", after sampling
    # the output's kind and size
    refusal("out-of-an-unknown-kind", ["sample", RUN, "--out", "x.jpg"], "FILE.png, FILE.npz or a FOLDER"),
    refusal("out-and-format-disagree", ["sample", RUN, "--out", "x.png", "--format", "npz"], "does not fit"),
    refusal("npz-too-large", ["sample", RUN, "--n", "2000000", "--out", "x.npz"], "at most 1,000,000 images"),
    refusal("grid-too-large-to-build", ["sample", RUN, "--n", "10000000", "--out", "{tmp}/big.png"],
            "at most 10,000 images", "FILE.npz", "FOLDER"),
    # seeds and devices
    refusal("seed-above-64-bits", ["sample", UNTRAINED, "--out", "{tmp}/g.png", "--seed", str(10**20)],
            "--seed must be an integer in 0..18,446,744,073,709,551,615"),  # torch's OverflowError
    refusal("negative-seed", ["sample", UNTRAINED, "--out", "{tmp}/g.png", "--seed", "-1"],
            "--seed must be an integer in 0.."),
    refusal("unknown-device", ["sample", RUN, "--device", "banana", "--out", "{tmp}/g.png"],
            "device must be auto, cpu, cuda or cuda:N (got 'banana')", unsaid=("damaged",)),
    refusal("absent-gpu", ["sample", RUN, "--device", "cuda:3", "--out", "{tmp}/g.png"], "cuda:3",
            unsaid=("damaged",)),
])  # fmt: skip
def test_sample_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)


SAMPLE_WHILE_ANOTHER_WRITES = r"""
import sys
from pathlib import Path

import numpy as np

from improved_gan.cli.main import main
from improved_gan.training import sampling

out = Path(sys.argv[1])

def sample_while_another_writes(run, n, seed, device):  # another process writes --out after it was checked
    out.write_bytes(b"theirs")
    return np.zeros((n, 4, 4, 1), np.uint8)

sampling.sample_images = sample_while_another_writes  # the fake run holds no generator to sample
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("name", ["f.png", "f.npz"])
def test_overwrite_does_not_replace_a_file_that_appeared_after_the_check(name, tmp_path):
    """`sample RUN --out f.png --overwrite`, f.png absent when checked and written by another process before
    the publish: the other file was replaced, exit 0 (the seventh sweep's issue 26). --overwrite replaces the file
    sample wrote that was there when checked; with none there the file is published as new, and one that appeared
    meanwhile is refused in one line, as without --overwrite. In a fresh interpreter, the other process's write
    made by the stand-in for the generator's sampling."""
    import subprocess
    import sys

    run, out = fake_run(tmp_path / "run", checkpoint=True), tmp_path / name
    argv = ["sample", str(run), "--n", "4", "--out", str(out), "--overwrite"]
    result = subprocess.run([sys.executable, "-c", SAMPLE_WHILE_ANOTHER_WRITES, str(out), *argv],
                            capture_output=True, text=True, timeout=300)
    said = f"{out} appeared meanwhile (another process wrote it); name a new {out.suffix} file (nothing was written)"
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {said}\n")
    assert out.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == sorted(["run", name])
