"""What `improved-gan score` refuses, and what it reads (an .npz, a folder of PNGs, a run, a dataset behind
--data-dir; `turing create` reads the same sources): one line (``error: ...``, exit status 2) before anything
is sampled or scored, and the user's files as they were.

Each row of the table was, before, a traceback (EOFError, BadZipFile, PIL's errors), an argument accepted and
the scores made without it, or a misleading message ("does not exist" of a path that was there, "out of
memory" for a damaged file, "drop the alpha channel" of an image without one). In-process (``main([...])``)
on small .npz files, PNGs and hand-made run folders; nothing trains.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from clitools import fake_run, files, one_line_error, refusal, refuses

from improved_gan.cli.main import main


@pytest.fixture
def folder(tmp_path):
    """x.npz (20 digits), the user's notes.txt and mnist (a file where the dataset's folder would go), and
    image sources that cannot be read: empty.npz, cut.npz, huge.npz (its header declares 10**12 images),
    imgs/a.png (text), i16/a.png and bits/a.png (16-bit and 1-bit PNGs)."""
    from numpy.lib import format as npy_format
    from PIL import Image

    np.savez(tmp_path / "x.npz", x=np.zeros((20, 28, 28, 1), np.uint8))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "mnist").write_text("x")
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 cut short")
    header = io.BytesIO()
    npy_format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                               "shape": (10**12, 28, 28, 1)})
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(100))
    for name, mode in (("i16", "I;16"), ("bits", "1")):
        (tmp_path / name).mkdir()
        Image.new(mode, (28, 28)).save(tmp_path / name / "a.png")
    (tmp_path / "noconfig" / "checkpoints").mkdir(parents=True)  # a run folder whose config.json was removed
    (tmp_path / "noconfig" / "metrics.jsonl").write_text("")
    Image.new("RGBA", (28, 28)).save(tmp_path / "noconfig" / "loss_d.png")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_text("this is not an image")
    return tmp_path


X = "{tmp}/x.npz"


@pytest.mark.parametrize("case", [
    # image sources that cannot be read
    refusal("empty-npz", ["score", "{tmp}/empty.npz", "--metrics", "is"], "not a readable .npz file", "np.savez"),
    refusal("truncated-npz", ["score", "{tmp}/cut.npz", "--metrics", "is"], "not a readable .npz file",
            "np.savez"),  # EOFError and zipfile.BadZipFile tracebacks
    refusal("npz-declaring-terabytes", ["score", "{tmp}/huge.npz"], "huge.npz", "the file is damaged",
            unsaid=("choose a smaller one",)),  # said "out of memory (713 TiB asked for): ... choose a smaller one"
    refusal("text-file-named-png", ["score", "{tmp}/imgs", "--metrics", "mnist_score"], "a.png", "cannot identify"),
    refusal("16-bit-png", ["score", "{tmp}/i16"], "image mode 'I;16'", "scale the 16-bit values to 0..255",
            unsaid=("alpha",)),  # was told to "drop the alpha channel", which it does not have
    refusal("1-bit-png", ["score", "{tmp}/bits"], "image mode '1'", "1-bit image", unsaid=("alpha",)),
    refusal("file-where-the-dataset-folder-must-be", ["score", "mnist:test", "--data-dir", "{tmp}"],
            "{tmp}/mnist is a file, not a folder"),  # "cannot download into .../mnist: File exists"
    # empty arguments, and arguments the chosen source or metrics do not use (each was accepted and ignored)
    refusal("empty-image-source", ["score", ""], "the image source is empty"),  # scored the working directory
    refusal("run-folder-without-its-config", ["score", "{tmp}/noconfig"], "a damaged run folder",
            "put its config.json back"),  # read its loss_d.png as an image: "mode 'RGBA' is not 8-bit grayscale"
    refusal("empty-metrics", ["score", X, "--metrics", ""], "--metrics is empty"),  # the default metrics, silently
    refusal("seed-of-an-npz", ["score", X, "--seed", "3"], "is not a run folder"),  # no generator to seed
    refusal("data-dir-the-metrics-do-not-read", ["score", X, "--metrics", "mnist_score", "--data-dir", "{tmp}"],
            "leave it out"),
    refusal("empty-reference", ["score", X, "--reference", ""], "--reference is empty"),  # MNIST's, silently
    # an empty --classifier ("file . does not exist"), --weights, --data-dir: tests/cli/test_out_rules.py's table
    refusal("reference-unused", ["score", X, "--metrics", "mnist_score", "--reference", X],
            "--reference is not used by the metrics chosen"),
    refusal("weights-unused", ["score", X, "--metrics", "mnist_score", "--weights", "{tmp}/w.pth"],
            "--weights is not used"),
    refusal("download-weights-unused", ["score", X, "--metrics", "mnist_score", "--download-weights"],
            "--download-weights is not used"),
    refusal("classifier-unused", ["score", X, "--metrics", "is", "--classifier", "{tmp}/c.pt"],
            "--classifier is not used"),
    refusal("splits-unused", ["score", X, "--metrics", "mnist_fd", "--reference", X, "--splits", "3"],
            "--splits is not used"),
    # a folder where a file is needed, or the other way round (each said "does not exist" of a path that was there)
    refusal("classifier-a-folder", ["score", X, "--metrics", "mnist_score", "--classifier", "{tmp}"],
            "classifier file {tmp} is a folder"),
    refusal("inception-weights-a-folder", ["score", X, "--metrics", "is"], "is a folder; name the .pth file",
            env={"IMPROVED_GAN_INCEPTION_WEIGHTS": "{tmp}"}),
    refusal("cache-a-file", ["score", X, "--metrics", "mnist_score"], "notes.txt is a file, not a folder",
            env={"IMPROVED_GAN_CACHE": "{tmp}/notes.txt"}),  # "not cached at notes.txt/classifiers/..."
])  # fmt: skip
def test_score_refuses(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)


@pytest.mark.parametrize("kind", ["folder", "looping link"])
@pytest.mark.parametrize("dataset, path", [("mnist:test", "mnist/t10k-images-idx3-ubyte.gz"),
                                           ("svhn:test", "svhn/test_32x32.mat")], ids=["mnist", "svhn"])
def test_a_data_file_that_is_not_a_file_is_named(kind, dataset, path, tmp_path, capsys):
    """It said "not found ... Downloading it failed" (and with internet access downloaded one beside it)."""
    target = tmp_path / path
    target.parent.mkdir(parents=True)
    if kind == "folder":
        target.mkdir()
    else:
        target.symlink_to(target.name)
    one_line_error(capsys, ["score", dataset, "--data-dir", str(tmp_path)], str(target),
                   "is a folder, not the" if kind == "folder" else "which is not a readable file")


# -- what needs a classifier, a run's generator, or a monkeypatch ----------------------------------

def _last_line_error(capsys, argv, *says: str) -> str:
    """Exit status 2, no traceback, the last line of stderr ``error: ...`` with every text of ``says`` (a note
    on the classifier, or a cleared progress bar, may come before it)."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    line = err.rstrip("\n").splitlines()[-1]
    assert line.startswith("error: ") and "Traceback" not in err, err
    for text in says:
        assert text in line, line
    return line


@pytest.fixture
def classifier(tmp_path):
    import torch

    from improved_gan.metrics.classifier import MnistClassifier, save_classifier

    torch.manual_seed(0)
    return str(save_classifier(MnistClassifier(width=4, feature_dim=8), tmp_path / "classifier.pt"))


@pytest.mark.parametrize("which", ["samples", "reference images"])
def test_a_distance_from_one_image_is_one_line(which, tmp_path, capsys, classifier):
    """`score x.npz --metrics mnist_fd --reference one.npz`: "ValueError: need at least 2 feature vectors"."""
    digits = np.random.default_rng(0).integers(0, 256, (12, 28, 28, 1), dtype=np.uint8)
    np.savez(tmp_path / "one.npz", x=digits[:1])
    np.savez(tmp_path / "many.npz", x=digits)
    samples, reference = ("one", "many") if which == "samples" else ("many", "one")
    _last_line_error(capsys, ["score", str(tmp_path / f"{samples}.npz"), "--metrics", "mnist_fd", "--reference",
                              str(tmp_path / f"{reference}.npz"), "--classifier", classifier],
                     f"needs at least 2 {which} for a covariance (got 1)")


@pytest.fixture
def run_to_score(tmp_path):
    return fake_run(tmp_path / "run", checkpoint=True)


@pytest.mark.parametrize(
    "content, says",
    [(b"[1, 2]", "holds a JSON list, not the object of scores"),  # TypeError: 'list' object is not a mapping
     (b"\xff\xfe", "is not valid JSON")],  # UnicodeDecodeError, after the sampling and scoring
    ids=["a-list", "not-json"],
)
def test_a_runs_scores_json_that_cannot_be_merged_into_is_refused_before_sampling(
        content, says, run_to_score, capsys, monkeypatch):
    from improved_gan import image_sources

    monkeypatch.setattr(image_sources, "load_images", lambda *a, **k: pytest.fail("sampled before the check"))
    (run_to_score / "scores.json").write_bytes(content)
    before = files(run_to_score)
    one_line_error(capsys, ["score", str(run_to_score), "--n", "20", "--metrics", "mnist_score"], says,
                   "nothing was written")
    assert files(run_to_score) == before


def test_a_runs_scores_json_that_is_a_link_is_refused_as_a_link(run_to_score, tmp_path, capsys, monkeypatch):
    """With RUN/scores.json a link to a user's file that is not JSON, it said "not valid JSON ...; fix or delete
    it": the user's file."""
    from improved_gan import image_sources

    monkeypatch.setattr(image_sources, "load_images", lambda *a, **k: pytest.fail("sampled before the check"))
    (tmp_path / "notes.txt").write_text("the user's notes")
    (run_to_score / "scores.json").symlink_to(tmp_path / "notes.txt")
    line = one_line_error(capsys, ["score", str(run_to_score), "--n", "20", "--metrics", "mnist_score"],
                          "scores.json", "symbolic link")
    assert "valid JSON" not in line and (tmp_path / "notes.txt").read_text() == "the user's notes"


def test_a_run_folder_that_cannot_be_written_is_refused_before_sampling(run_to_score, capsys, monkeypatch):
    """On a read-only run folder `score RUN --n 20000` computed for 17 s, then failed on .scores.json.*.tmp. (As
    root no folder refuses a write, so the file system's answer is made here: EROFS for the run folder.)"""
    from clitools import pretend_read_only
    from improved_gan import image_sources

    pretend_read_only(monkeypatch, run_to_score)
    monkeypatch.setattr(image_sources, "load_images", lambda *a, **k: pytest.fail("sampled before the check"))
    before = files(run_to_score)
    one_line_error(capsys, ["score", str(run_to_score), "--n", "20", "--metrics", "mnist_score"],
                   "scores file", "cannot be written: Read-only file system", "make the run folder writable")
    assert files(run_to_score) == before


@pytest.mark.parametrize("change, said", [("replaced", "its checkpoint was replaced"),
                                           ("removed", "its checkpoint was removed")])
def test_a_run_changed_while_it_is_scored_gets_no_scores(run_to_score, capsys, monkeypatch, classifier, change,
                                                         said):
    """`score RUN` while `train --out RUN --overwrite` replaced the run: the old generator's scores were merged
    into the new run's scores.json. Now a checkpoint other than the one sampled keeps them out; so does one
    removed meanwhile (its own words, not "replaced")."""
    import os

    import numpy as np

    from improved_gan import image_sources

    def sample_then_change(*args, **kwargs):  # the run is trained anew, or its checkpoints deleted, meanwhile
        checkpoint = run_to_score / "checkpoints" / "last.pt"
        if change == "removed":
            for path in checkpoint.parent.iterdir():
                path.unlink()
        else:
            copy = checkpoint.with_name("new.pt")
            copy.write_bytes(checkpoint.read_bytes())
            os.replace(copy, checkpoint)
        return np.zeros((20, 28, 28, 1), np.uint8)

    monkeypatch.setattr(image_sources, "load_images", sample_then_change)
    assert main(["score", str(run_to_score), "--n", "20", "--metrics", "mnist_score", "--splits", "2",
                 "--classifier", classifier]) == 2
    out, err = capsys.readouterr()
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: ") and "changed while it was scored" in last and "Traceback" not in err, err
    assert said in last, last
    assert "neither printed nor written into scores.json" in last and out == ""  # checked before a line
    assert not (run_to_score / "scores.json").exists()


def test_a_generator_that_cannot_draw_a_lone_image_is_one_line(run_to_score, capsys, monkeypatch, classifier):
    """`score RUN --n 1` was batch statistics' ValueError traceback (the run's generator: mnist-fm's, untrained)."""
    import torch

    from improved_gan.experiments.presets import get_preset
    from improved_gan.training import sampling
    from improved_gan.training.build import build_models

    config = get_preset("mnist-fm")
    generator, _ = build_models(config, image_shape=(1, 28, 28), num_classes=10, device=torch.device("cpu"))
    monkeypatch.setattr(sampling, "load_generator", lambda run_dir, device=None: (generator, config.pixel_scale))
    _last_line_error(capsys, ["score", str(run_to_score), "--n", "1", "--metrics", "mnist_score", "--splits", "1",
                              "--classifier", classifier], "cannot draw a lone image", "ask for 2 or more")


def test_score_of_a_run_uses_the_runs_own_data_folder(tmp_path, capsys, monkeypatch):
    """`score RUN` reads the reference digits from the run's data_dir, not the default (a download)."""
    from improved_gan.cli.commands import score
    from improved_gan.errors import UserError
    from improved_gan.metrics import evaluate

    run = fake_run(tmp_path / "a", epochs_done=2, checkpoint=True, data_dir=str(tmp_path / "data"))
    seen = {}

    def reference(name, specs, networks, args, device):
        seen["data_dir"], seen["name"] = args.data_dir, name
        raise UserError("stop here")

    monkeypatch.setattr(evaluate, "load_scoring_network", lambda name, **kwargs: object())
    monkeypatch.setattr(score, "_say_which_classifier", lambda networks: None)
    monkeypatch.setattr(score, "_reference", reference)
    one_line_error(capsys, ["score", str(run), "--device", "cpu"], "stop here")
    assert seen == {"data_dir": str(tmp_path / "data"), "name": "mnist5k:train"}


# -- score and turing create: the image sources they share ----------------------------------------

@pytest.mark.parametrize("command", ["score", "turing"])
def test_more_generator_samples_than_memory_holds_are_refused_at_once(command, tmp_path, capsys, monkeypatch):
    """`score RUN --n 100000000000` sampled for days before it would have run out of memory."""
    from improved_gan.training import sampling

    monkeypatch.setattr(sampling, "sample_images", lambda *a, **k: pytest.fail("sampled before the check"))
    run = fake_run(tmp_path / "run", checkpoint=True)
    np.savez(tmp_path / "real.npz", x=np.zeros((40, 28, 28, 1), np.uint8))
    argv = (["score", str(run), "--n", str(10**11)] if command == "score" else
            ["turing", "create", str(tmp_path / "s"), "--real", str(tmp_path / "real.npz"), "--generated", str(run),
             "--n-generated", str(10**11)])
    one_line_error(capsys, argv, "100,000,000,000 samples need at least 73,016 GiB", "ask for fewer")


@pytest.mark.parametrize("command", ["score", "turing"])
def test_a_run_without_checkpoints_is_not_scored_as_an_image_folder(command, tmp_path, capsys):
    """A run stopped before its first epoch was read as a folder of PNGs: its loss plots were the images
    ("loss_d.png: image mode 'RGBA' ...", or scores of the plots when they were RGB)."""
    from PIL import Image

    run = fake_run(tmp_path / "run")
    Image.new("RGB", (28, 28)).save(run / "loss_d.png")
    argv = (["score", str(run)] if command == "score" else
            ["turing", "create", str(tmp_path / "s"), "--real", "mnist", "--generated", str(run)])
    one_line_error(capsys, argv, "is a run folder without checkpoints/", "no generator to sample")


@pytest.mark.parametrize("command", ["score", "turing"])
def test_an_image_too_large_to_decode_is_one_line(command, tmp_path, capsys, monkeypatch):
    """PIL's DecompressionBombError (a 14000x14000 PNG of 24 KB) is no OSError: a traceback in score and turing."""
    from PIL import Image

    (tmp_path / "pngs").mkdir()
    Image.new("L", (28, 28)).save(tmp_path / "pngs" / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 784 pixels is then more than twice the limit
    argv = (["score", str(tmp_path / "pngs")] if command == "score" else
            ["turing", "create", str(tmp_path / "s"), "--real", str(tmp_path / "pngs"), "--generated",
             str(tmp_path / "pngs")])
    one_line_error(capsys, argv, "a.png: too large to read as an image", "resize it")


def test_a_checkpoint_only_touched_while_it_is_scored_is_the_same_run(run_to_score, capsys, monkeypatch, classifier):
    """`touch RUN/checkpoints/last.pt` during a score made it say the run had changed (the sweep after the fix)."""
    import os

    import numpy as np

    from improved_gan import image_sources

    def sample_then_touch(*args, **kwargs):
        os.utime(run_to_score / "checkpoints" / "last.pt")
        return np.zeros((20, 28, 28, 1), np.uint8)

    monkeypatch.setattr(image_sources, "load_images", sample_then_touch)
    assert main(["score", str(run_to_score), "--n", "20", "--metrics", "mnist_score", "--splits", "2",
                 "--classifier", classifier]) == 0
    assert "mnist_score" in (run_to_score / "scores.json").read_text()


SCORE_WHILE_CHANGED = r"""
import os, sys
from pathlib import Path

import numpy as np

from improved_gan import image_sources
from improved_gan.cli.main import main

run, change = Path(sys.argv[1]), sys.argv[2]

def sample_then_change(*args, **kwargs):  # another process changes the run while its generator is sampled
    if change == "trained-anew":
        checkpoint = run / "checkpoints" / "last.pt"
        copy = checkpoint.with_name("new.pt")
        copy.write_bytes(checkpoint.read_bytes())
        os.replace(copy, checkpoint)
    else:  # a folder where scores.json is merged into
        (run / "scores.json").mkdir()
    return np.zeros((20, 28, 28, 1), np.uint8)

image_sources.load_images = sample_then_change  # the fake run holds no generator to sample
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
@pytest.mark.parametrize("change, says", [("trained-anew", "changed while it was scored"),
                                          ("scores-a-folder", "scores.json is a folder")])
def test_a_score_that_cannot_be_written_prints_nothing(change, says, as_json, run_to_score, classifier):
    """`score RUN --json` printed its JSON object, then refused to merge it into RUN/scores.json (the run changed
    meanwhile, or a folder stood where the file goes): a script read scores that the run never kept, from a
    command that failed (the seventh sweep's issue 26). Now every output is checked, the file written, and only
    then are the scores printed. In a fresh interpreter (the CLI's own streams), the run changed by the stand-in
    for the generator's sampling."""
    import subprocess
    import sys

    argv = ["score", str(run_to_score), "--n", "20", "--metrics", "mnist_score", "--splits", "2", "--classifier",
            classifier, *(["--json"] if as_json else [])]
    result = subprocess.run([sys.executable, "-c", SCORE_WHILE_CHANGED, str(run_to_score), change, *argv],
                            capture_output=True, text=True, timeout=300)
    last = result.stderr.rstrip("\n").splitlines()[-1]
    assert result.returncode == 2 and last.startswith("error: ") and says in last, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == "", result.stdout
    assert not (run_to_score / "scores.json").is_file()
