"""Start-up: a command's arguments are parsed and checked before torch is imported (docs/cli.md, "Start-up").

Importing torch costs seconds of CPU; a refused flag, a misspelt preset, ``--help`` or ``runs`` on a folder
without runs must answer without it. Each case runs ``main(ARGV)`` in a fresh interpreter, which reports its
exit status, its last line on stderr and which heavy modules were imported (with the frames of the package
that imported each first). These tests are of what is imported, not of time (timing is flaky on a loaded
machine; benchmarks/cli_startup.py measures it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "torchvision", "PIL", "scipy", "matplotlib", "sqlalchemy", "uvicorn", "starlette")
"""Modules that a checked-and-refused command must not import (numpy is allowed: the config's dataset table)."""

PROBE = r"""
import contextlib, io, json, sys, traceback

HEAVY = json.loads(sys.argv[2])
first = {}

class Witness:  # records who imported each heavy module first; imports nothing itself
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in first:
            first[name] = [f"{f.filename.rpartition('improved_gan/')[2]}:{f.lineno}"
                           for f in traceback.extract_stack() if "improved_gan" in f.filename][-4:]
        return None

sys.meta_path.insert(0, Witness())
from improved_gan.cli.main import main

err = io.StringIO()
with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
    try:
        status = main(json.loads(sys.argv[1]))
    except SystemExit as stop:
        status = stop.code
lines = err.getvalue().strip().splitlines()
print(json.dumps({"status": status, "said": lines[-1] if lines else "", "lines": len(lines),
                  "imported": {name: first.get(name, []) for name in HEAVY if name in sys.modules}}))
"""


def probe(argv: list[str], cwd) -> dict:
    """``main(argv)`` in a fresh interpreter: its exit status, its last stderr line, the heavy modules imported."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# (argv with {tmp} for a fresh folder, exit status, a text of the last stderr line)
REFUSED = {
    "runs-unknown-flag": (["runs", "--nonsense"], 2, "unrecognized arguments: --nonsense"),
    "runs-missing-folder": (["runs", "{tmp}/missing"], 2, "no such folder"),
    "train-unknown-flag": (["train", "mnist-fm", "--bogus"], 2, "unrecognized arguments: --bogus"),
    "train-bad-epochs": (["train", "mnist-fm", "--epochs", "-1"], 2, "epochs must be positive (got -1)"),
    "train-bad-dataset": (["train", "mnist-fm", "--dataset", "mnist6k"], 2, "unknown dataset 'mnist6k'"),
    "train-misspelt-preset": (["train", "mnist-fn"], 2, "unknown preset 'mnist-fn'"),
    "train-resume-flag": (["train", "mnist-fm", "--allow-lr-change"], 2, "applies to `improved-gan resume RUN`"),
    "resume-no-run": (["resume"], 2, "the following arguments are required: RUN"),
    "resume-preset-flag": (["resume", "{tmp}/run", "--labels", "50"], 2, "does not apply"),
    "resume-missing-run": (["resume", "{tmp}/missing"], 2, "no such run folder"),
    "train-resume-missing-run": (["train", "--resume", "{tmp}/missing"], 2, "no such run folder"),
    "sample-no-out": (["sample", "{tmp}/run"], 2, "the following arguments are required: --out"),
    "sample-bad-n": (["sample", "{tmp}/run", "--out", "{tmp}/s.png", "--n", "0"], 2, "--n must be positive"),
    "sample-bad-format": (["sample", "{tmp}/run", "--out", "{tmp}/s.jpg"], 2, "--out must be FILE.png"),
    "sample-not-a-run": (["sample", "{tmp}/missing", "--out", "{tmp}/s.png"], 2, "missing/config.json not found"),
    "sample-bad-seed": (["sample", "{tmp}/run", "--out", "{tmp}/s.png", "--seed", "-1"], 2,
                        "--seed must be an integer in 0..18,446,744,073,709,551,615 (got -1)"),
    "eval-missing-run": (["eval", "{tmp}/missing"], 2, "config.json not found"),
    "eval-unknown-flag": (["eval", "{tmp}/run", "--bogus"], 2, "unrecognized arguments: --bogus"),
    "score-bad-device": (["score", "mnist:test", "--device", "banana"], 2,
                         "--device must be auto, cpu, cuda or cuda:N (got 'banana')"),
    "eval-mps": (["eval", "{tmp}/run", "--device", "mps"], 2, "Apple's mps is not supported"),
    "sample-bad-device": (["sample", "{tmp}/run", "--out", "{tmp}/s.png", "--device", "cuda:x"], 2,
                          "--device must be auto, cpu, cuda or cuda:N (got 'cuda:x')"),
    "train-device-leading-zero": (["train", "mnist-fm", "--dry-run", "--device", "cuda:01"], 2,  # torch's traceback
                                  "device must be auto, cpu, cuda or cuda:N (got 'cuda:01')"),
    "resume-mps": (["resume", "{tmp}/run", "--device", "mps"], 2, "Apple's mps is not supported"),
    "score-no-source": (["score"], 2, "the following arguments are required: source"),
    "score-bad-splits": (["score", "mnist:test", "--splits", "0"], 2, "--splits and --batch-size must be positive"),
    "score-empty-metrics": (["score", "mnist:test", "--metrics", " "], 2, "--metrics is empty"),
    "score-missing-file": (["score", "{tmp}/missing.npz"], 2, "missing.npz: no such file or folder"),
    "score-unknown-name": (["score", "X", "--n", "3"], 2,  # took 7.5-9 s: torch, then "unknown dataset 'X'"
                           "X: no such file or folder, and unknown dataset 'X'; valid names: cifar10, mnist"),
    "score-unknown-split": (["score", "mnist:tset"], 2, "dataset 'mnist' has no split 'tset'"),
    "score-seed-not-a-run": (["score", "mnist:test", "--seed", "3"], 2, "--seed 3 draws a run's generator samples"),
    "score-bad-seed": (["score", "{tmp}/run", "--seed", "-3"], 2, "--seed must be an integer in 0.."),
    "score-bad-n": (["score", "mnist:test", "--n", "0"], 2, "--n must be positive (got 0)"),
    "score-unknown-metric": (["score", "mnist:test", "--metrics", "is,fdi"], 2,
                             "unknown metric 'fdi'; valid metrics: fid, is, mnist_fd, mnist_score"),
    "report-no-run": (["report"], 2, "the following arguments are required: runs"),
    "report-missing-run": (["report", "{tmp}/missing"], 2, "is not a run folder (no config.json)"),
    "reproduce-bad-table": (["reproduce", "table2"], 2, "invalid choice: 'table2'"),
    "reproduce-bad-jobs": (["reproduce", "table1", "--jobs", "0"], 2, "--jobs must be at least 1"),
    "reproduce-bad-seeds": (["reproduce", "table1", "--seeds", "9-0"], 2, "is an empty range"),
    "reproduce-bad-labels": (["reproduce", "table1", "--labels", "-5", "--out", "{tmp}/t"], 2,
                             "labels must be >= 0 (got -5)"),
    "reproduce-bad-epochs": (["reproduce", "table1", "--epochs", "0", "--out", "{tmp}/t"], 2,
                             "epochs must be positive (got 0)"),
    "demo-bad-seed": (["demo", "--seed", "-1"], 2, "seed must be >= 0"),
    "demo-bad-epochs": (["demo", "--epochs", "0"], 2, "epochs must be positive"),
    "ablate-bad-epochs": (["ablate", "table3", "--epochs", "0", "--out", "{tmp}/t"], 2, "epochs must be positive"),
    "ablate-bad-row": (["ablate", "table3", "--only", "nothing"], 2, "unknown rows"),
    "classifier-no-action": (["classifier"], 2, "the following arguments are required: ACTION"),
    "classifier-bad-epochs": (["classifier", "train", "--epochs", "0"], 2, "--epochs must be at least 1 (got 0)"),
    "classifier-shortened-into-the-cache": (["classifier", "train", "--epochs", "1"], 2,  # scores would use it
                                            "a shortened classifier scores differently"),
    "classifier-too-few-images": (["classifier", "train", "--train-images", "5"], 2,
                                  "--train-images must be from 128 (one batch) to 60,000 (got 5)"),
    "games-bad-steps": (["games", "--out", "{tmp}/g", "--steps", "0"], 2, "--steps must be a positive number"),
    "games-bad-game": (["games", "--out", "{tmp}/g", "--game", "chess"], 2, "invalid choice: 'chess'"),
    "turing-bad-sessions": (["turing", "create", "{tmp}/study", "--real", "mnist:test", "--generated", "{tmp}/run",
                             "--sessions", "0"], 2, "--sessions must be at least 1"),
    "turing-serve-missing-study": (["turing", "serve", "{tmp}/missing"], 2, "is not a study folder (no study.json)"),
    "turing-token-missing-study": (["turing", "token", "{tmp}/missing"], 2, "is not a study folder (no study.json)"),
    "turing-no-action": (["turing"], 2, "the following arguments are required: ACTION"),
    "turing-create-real-missing": (["turing", "create", "{tmp}/study", "--real", "{tmp}/missing.npz", "--generated",
                                    "mnist:train"], 2, "missing.npz: no such file or folder"),
    "turing-invite-bad-n": (["turing", "invite", "{tmp}/study", "--n", "0"], 2, "--n must be between 1 and"),
    "turing-invite-labels-missing": (["turing", "invite", "{tmp}/study", "--labels", "{tmp}/ids.txt"], 2,
                                     "ids.txt: No such file or directory; give a text file, one label per line"),
    "turing-invite-bad-url": (["turing", "invite", "{tmp}/study", "--n", "1", "--base-url", "ftp://x"], 2,
                              "is not an http(s) address"),
    "turing-results-one-file-twice": (["turing", "results", "{tmp}/study", "--json", "{tmp}/a", "--votes-csv",
                                       "{tmp}/a"], 2, "--json and --votes-csv both name"),
}

# the same, in a folder holding a run (``run``: a config and its metrics, no checkpoint; ``run/samples/``) and a
# user's files (``notes.txt``, ``figures/a.png``), which every refusal leaves as they were
REFUSED_BESIDE_A_RUN = {
    "resume-a-file": (["resume", "{tmp}/notes.txt"], "a file, not a run folder"),
    "resume-inside-a-run": (["resume", "{tmp}/run/samples"], "a folder inside the run"),
    "resume-not-a-run": (["resume", "{tmp}/figures"], "config.json not found"),
    "train-dry-run-into-another-run": (["train", "mnist-fm", "--out", "{tmp}/run", "--dry-run"],
                                       "holds the start of a run of another configuration"),
    "report-out-inside-the-run": (["report", "{tmp}/run", "--out", "{tmp}/run/c.md"], "lies inside the run folder"),
    "report-out-not-markdown": (["report", "{tmp}/run", "--out", "{tmp}/c.txt"], "ending in .md"),
    "sample-out-yours": (["sample", "{tmp}/run", "--out", "{tmp}/figures/a.png"], "exists; name a new .png file"),
    "sample-out-inside-the-run": (["sample", "{tmp}/run", "--out", "{tmp}/run/x.png"], "lies inside the run folder"),
    "classifier-out-yours": (["classifier", "train", "--out", "{tmp}/notes.txt"], "was not written by improved-gan"),
    "games-out-inside-the-run": (["games", "--out", "{tmp}/run/g"], "lies inside the run folder"),
    "ablate-out-inside-the-run": (["ablate", "table3", "--out", "{tmp}/run/t"], "lies inside the run folder"),
    "demo-out-a-file": (["demo", "--out", "{tmp}/notes.txt"], "is a file, not a folder; name a folder"),
    "demo-out-inside-the-run": (["demo", "--out", "{tmp}/run/d"], "lies inside the run folder"),
    "reproduce-out-a-file": (["reproduce", "table1", "--out", "{tmp}/notes.txt"], "is a file, not a folder"),
    "turing-create-study-a-file": (["turing", "create", "{tmp}/notes.txt", "--real", "mnist:test", "--generated",
                                    "{tmp}/run"], "is a file, not a folder"),
    "turing-invite-out-yours": (["turing", "invite", "{tmp}/study", "--n", "1", "--out", "{tmp}/notes.txt"],
                                "invitation codes are shown once"),
    "turing-results-json-yours": (["turing", "results", "{tmp}/study", "--json", "{tmp}/notes.txt"],
                                  "was not written by improved-gan"),
}

COMMANDS = ("ablate", "classifier", "demo", "eval", "games", "report", "reproduce", "resume", "runs", "sample",
            "score", "train", "turing")


def _fill(argv: list[str], tmp) -> list[str]:
    return [arg.replace("{tmp}", str(tmp)) for arg in argv]


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_argument_is_said_before_torch_is_imported(case, tmp_path):
    argv, status, says = REFUSED[case]
    seen = probe(_fill(argv, tmp_path), tmp_path)
    assert (seen["status"], seen["imported"]) == (status, {}), seen
    assert says in seen["said"], seen
    assert not any(tmp_path.iterdir()), "a refused command wrote nothing"


@pytest.mark.parametrize("case", REFUSED_BESIDE_A_RUN)
def test_a_refused_path_is_said_before_torch_is_imported(case, tmp_path):
    """Paths are checked where their facts are (runs/guard.py, runs/out_rules.py, each command's own), none of
    which imports torch: a run folder, an --out inside one, a user's file."""
    from clitools import fake_run, files

    (fake_run(tmp_path / "run") / "samples").mkdir()
    (tmp_path / "notes.txt").write_text("my notes")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"my figure")
    before = files(tmp_path)
    argv, says = REFUSED_BESIDE_A_RUN[case]
    seen = probe(_fill(argv, tmp_path), tmp_path)
    assert (seen["status"], seen["imported"]) == (2, {}), seen
    assert says in seen["said"], seen
    assert files(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["figures", "notes.txt", "run"]


def refused_alone(seen: dict, said: str) -> None:
    """``seen`` (:func:`probe`'s) is a refusal that imported nothing heavy and said ``said``: one line ``error:
    ...``, or argparse's line after its usage."""
    assert (seen["status"], seen["imported"], seen["said"]) == (2, {}, said), seen
    assert seen["lines"] == 1 or not said.startswith("error: "), seen


# `turing create` of two bundled datasets (nothing read but the names): each flag value is checked where its rule
# is (turing/config.py's StudyOptions, turing/selection.py, source_names.py, path_argument) and refused before torch
CREATE = ["turing", "create", "{tmp}/study", "--real", "mnist5k", "--generated", "mnist5k:test"]
URL_NAME = "use 1-64 lower-case letters, digits and dashes, starting with a letter or digit"
EMPTY_PATH = "empty: name a path (an empty one would be the working folder)"


@pytest.mark.parametrize("flags, said", [
    (["--slug", ""], f"error: study name '' is not usable in a URL: {URL_NAME}"),
    (["--slug", "Bad Slug!"], f"error: study name 'Bad Slug!' is not usable in a URL: {URL_NAME}"),
    (["--title", ""], "error: study title must have 1-200 characters (got 0)"),
    (["--per-session", "0"], "error: per_session must be between 1 and 10000 images per annotator (got 0)"),
    (["--attention-checks", "-1"], "error: attention checks must be between 0 and 50 per session (got -1)"),
    (["--tutorial", "99"], "error: tutorial must have between 0 and 20 practice images (got 99)"),
    (["--attention-max-failures", "-1"], "error: attention max failures must be >= 0 (got -1)"),
    (["--n-real", "0"], "error: --n-real must be positive (got 0)"),
    (["--n-generated", "-3"], "error: --n-generated must be positive (got -3)"),
    (["--generated-top", "0.5"], "error: --generated-top and --generated-scores go together: give both or neither "
                                 "(got only --generated-top)"),
    (["--generated-scores", "{tmp}/s.npy"], "error: --generated-top and --generated-scores go together: give both "
                                            "or neither (got only --generated-scores)"),
    (["--generated-top", "2", "--generated-scores", "{tmp}/s.npy"],
     "error: --generated-top must be in (0, 1] (got 2.0); 0.01 keeps the top 1%"),
    (["--data-dir", ""], f"improved-gan turing create: error: argument --data-dir: {EMPTY_PATH}"),
    (["--generated-scores", ""], f"improved-gan turing create: error: argument --generated-scores: {EMPTY_PATH}"),
    (["--generated-scores", "", "--generated-top", "0.5"],
     f"improved-gan turing create: error: argument --generated-scores: {EMPTY_PATH}"),
], ids=["empty-slug", "bad-slug", "empty-title", "per-session", "attention-checks", "tutorial",
        "attention-max-failures", "n-real", "n-generated", "top-alone", "scores-alone", "top-above-1",
        "empty-data-dir", "empty-scores", "empty-scores-with-top"])  # fmt: skip
def test_a_turing_create_flag_is_refused_before_torch(flags, said, tmp_path):
    """Each was refused only once torch, PIL and SQLAlchemy were imported (3.1-3.4 s, the sixth sweep), and
    ``--generated-scores ''`` (the working folder) was answered "give both or neither": one line ``error: ...``, or
    argparse's for an empty path (its usage, then the line)."""
    refused_alone(probe(_fill(CREATE + flags, tmp_path), tmp_path), said.replace("{tmp}", str(tmp_path)))
    assert not any(tmp_path.iterdir()), "a refused command wrote nothing"


@pytest.mark.parametrize("flags, said", [
    (["--workers", "0"], "error: --workers must be between 1 and 64 server processes (got 0)"),
    (["--workers", "65"], "error: --workers must be between 1 and 64 server processes (got 65)"),
    (["--host", ""], "error: --host is empty; give an address to listen on (127.0.0.1: this machine only, 0.0.0.0: "
                     "all interfaces)"),
    (["--forwarded-allow-ips", " "], "error: --forwarded-allow-ips is empty; name the proxies' addresses, or leave "
                                     "it out (127.0.0.1)"),
    (["--port", "70000"], "improved-gan turing serve: error: argument --port: a port is 1-65535 (got 70000)"),
], ids=["no-workers", "too-many-workers", "empty-host", "empty-forwarded-allow-ips", "port"])  # fmt: skip
def test_a_turing_serve_flag_is_refused_before_the_web_stack(flags, said, tmp_path):
    """`turing serve STUDY --workers 0` and `--host ''` were refused only after uvicorn, Starlette, SQLAlchemy, PIL
    and matplotlib were imported (1.8-2.1 s, the sixth sweep); `--port 70000`, argparse's, was not."""
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.json").write_text(json.dumps({"format": 2}))  # a study, as far as serve looks
    refused_alone(probe(["turing", "serve", str(tmp_path / "study"), *flags], tmp_path), said)  # before the web


FILE_URL = "sqlite:///path/turing.sqlite3"


@pytest.mark.parametrize("command", [
    ["turing", "invite", "{tmp}/st", "--n", "1"], ["turing", "token", "{tmp}/st"], ["turing", "results", "{tmp}/st"],
    ["turing", "remove", "{tmp}/st", "--yes"], ["turing", "serve", "{tmp}/st"], CREATE,
], ids=["invite", "token", "results", "remove", "serve", "create"])  # fmt: skip
@pytest.mark.parametrize("url, said", [
    ("sqlite://", f"error: --database sqlite://: an in-memory database keeps nothing; name a file ({FILE_URL})"),
    ("sqlite:///:memory:", "error: --database sqlite:///:memory:: an in-memory database keeps nothing; name a file "
                           f"({FILE_URL})"),
    ("sqlite:////x.db?mode=ro", "error: --database sqlite:////x.db?mode=ro: a SQLite URL takes no query string "
                                f"(?mode=ro would not be applied); name the file alone ({FILE_URL})"),
    ("postgres ql://u:secret@h/db", "error: not a database URL: 'postgres ql://u:***@h/db' (expected e.g. "
                                    f"{FILE_URL} or postgresql+psycopg://user@host/dbname)"),
    ("postgresql://bob:s3cret@h:notaport/db", "error: not a database URL: 'postgresql://bob:***@h:notaport/db' "
                                              f"(expected e.g. {FILE_URL} or postgresql+psycopg://user@host/dbname)"),
], ids=["memory", "memory-named", "query", "no-scheme", "port"])  # fmt: skip
def test_a_database_url_its_text_refuses_is_said_before_sqlalchemy(command, url, said, tmp_path):
    """Each was refused only after SQLAlchemy (and numpy) were imported, 1.09-1.55 s under load (the eighth sweep; a
    port that is not a number 0.67-0.92 s, the ninth): what a URL's text decides is said before
    (turing/url_text.check_url_text)."""
    (tmp_path / "st").mkdir()
    (tmp_path / "st" / "study.json").write_text(json.dumps({"format": 2}))
    refused_alone(probe(_fill(command, tmp_path) + ["--database", url], tmp_path), said)


def test_a_classifier_cache_that_cannot_be_made_is_said_before_torch(tmp_path, monkeypatch):
    """`classifier train` without --out writes into the cache: a file where its folder must be is refused at once."""
    (tmp_path / "notes.txt").write_text("a user's file\n")
    monkeypatch.setenv("IMPROVED_GAN_CACHE", str(tmp_path / "notes.txt"))
    seen = probe(["classifier", "train"], tmp_path)
    assert (seen["status"], seen["imported"]) == (2, {}), seen
    assert "classifier cache" in seen["said"] and "notes.txt" in seen["said"], seen
    assert (tmp_path / "notes.txt").read_text() == "a user's file\n"


@pytest.mark.parametrize("argv, says", [
    (["{tmp}/run", "--metrics", "mnist_score", "--data-dir", "{tmp}"], "--data-dir {tmp} is where datasets live"),
    (["{tmp}/run", "--metrics", "mnist_score", "--weights", "{tmp}/w.pth"], "--weights is not used"),
    (["{tmp}/run", "--weights", "{tmp}/w.pth"], "--weights is not used by the metrics chosen (mnist_score, mnist_fd)"),
    (["{tmp}/run", "--metrics", "is", "--classifier", "{tmp}/c.pt"], "--classifier is not used"),
    (["{tmp}/x.npz", "--metrics", "mnist_score", "--reference", "mnist"], "--reference is not used"),
    (["mnist:test", "--metrics", "mnist_fd", "--splits", "3"], "--splits is not used"),
], ids=["run-data-dir", "run-weights", "run-default-metrics-weights", "run-classifier", "npz-reference",
        "dataset-splits"])  # fmt: skip
def test_a_flag_the_metrics_do_not_use_is_refused_before_torch(argv, says, tmp_path):
    """`score RUN --metrics mnist_score --data-dir X` imported torch (8 s) before it refused the flag (the fifth
    sweep): the metrics, named or a run's own, say which flags they use before an image is read."""
    import numpy as np
    from clitools import fake_run

    fake_run(tmp_path / "run", checkpoint=True)  # an MNIST run: mnist_score and mnist_fd unless --metrics
    np.savez(tmp_path / "x.npz", x=np.zeros((4, 28, 28, 1), np.uint8))
    seen = probe(["score", *_fill(argv, tmp_path)], tmp_path)
    assert (seen["status"], seen["imported"], seen["lines"]) == (2, {}, 1), seen
    assert seen["said"].startswith("error: ") and says.replace("{tmp}", str(tmp_path)) in seen["said"], seen


@pytest.mark.parametrize("argv, says", [
    (["{tmp}/x.npz", "--weights", "{tmp}/w.pth"], "--weights is not used by the metrics chosen (mnist_score, mnist_fd)"),
    (["{tmp}/rgb.npz", "--classifier", "{tmp}/c.pt"], "--classifier is not used by the metrics chosen (is)"),
    (["{tmp}/gray.npz", "--download-weights"], "--download-weights is not used by the metrics chosen (mnist_score"),
    (["{tmp}/digits", "--weights", "{tmp}/w.pth"], "--weights is not used by the metrics chosen (mnist_score"),
    (["{tmp}/photos", "--reference", "mnist"], "--reference is not used by the metrics chosen (is)"),
    (["mnist:test", "--weights", "{tmp}/w.pth"], "--weights is not used by the metrics chosen (mnist_score"),
    (["cifar10", "--classifier", "{tmp}/c.pt"], "--classifier is not used by the metrics chosen (is)"),
], ids=["npz-weights", "npz-rgb-classifier", "npz-3d-download-weights", "png-folder-weights", "jpeg-folder-reference",
        "dataset-weights", "dataset-rgb-classifier"])  # fmt: skip
def test_a_flag_the_default_metrics_do_not_use_is_refused_before_torch(argv, says, tmp_path):
    """Without --metrics the default metrics follow the images' shape (mnist_score and mnist_fd for 28x28
    grayscale, else is), which `score x.npz --weights w.pth` learnt only from the images, read after torch (2-5 s,
    the seventh sweep's issue 26): the shape is read from the .npz's header, the first image's header (PIL) or the
    dataset's table, and the unused flag refused before torch."""
    import numpy as np
    from PIL import Image

    np.savez(tmp_path / "x.npz", x=np.zeros((4, 28, 28, 1), np.uint8))
    np.savez_compressed(tmp_path / "rgb.npz", x=np.zeros((4, 32, 32, 3), np.uint8))
    np.savez(tmp_path / "gray.npz", np.zeros((4, 28, 28), np.uint8))  # its only array, [N, H, W]
    for folder, mode, size, suffix in (("digits", "L", 28, "png"), ("photos", "RGB", 28, "jpg")):
        (tmp_path / folder).mkdir()
        for name in ("b", "a"):
            Image.new(mode, (size, size)).save(tmp_path / folder / f"{name}.{suffix}")
    seen = probe(["score", *_fill(argv, tmp_path)], tmp_path)
    assert (seen["status"], seen["lines"]) == (2, 1), seen
    read_by_pil = argv[0].endswith(("digits", "photos"))  # an image's header: PIL (fast), never torch
    assert set(seen["imported"]) <= ({"PIL"} if read_by_pil else set()), seen
    assert seen["said"].startswith("error: ") and says in seen["said"], seen


def test_runs_of_a_folder_without_runs_imports_no_torch(tmp_path):
    (tmp_path / "empty" / "notes").mkdir(parents=True)  # folders, none a run
    seen = probe(["runs", str(tmp_path / "empty")], tmp_path)
    assert (seen["status"], seen["imported"]) == (0, {}), seen


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_imports_no_torch(command, tmp_path):
    seen = probe(["--help"] if command is None else [command, "--help"], tmp_path)
    assert (seen["status"], seen["imported"]) == (0, {}), seen


def test_the_cases_cover_every_command():
    """A command added later gets its start-up case here (the table above is over the commands)."""
    import pkgutil

    from improved_gan.cli import commands

    assert {module.name for module in pkgutil.iter_modules(commands.__path__)} == set(COMMANDS)
    assert {argv[0] for argv, _, _ in REFUSED.values()} == set(COMMANDS)


def test_the_probe_sees_an_import_of_torch(tmp_path):
    """The witness works: listing a run reads its checkpoints, so it imports torch."""
    from clitools import fake_run

    fake_run(tmp_path / "runs" / "a", checkpoint=True)
    seen = probe(["runs", str(tmp_path / "runs")], tmp_path)
    assert seen["status"] == 0 and "torch" in seen["imported"], seen
    assert any("runs/status.py" in frame for frame in seen["imported"]["torch"]), seen
