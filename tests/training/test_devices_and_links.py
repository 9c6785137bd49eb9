"""A device this machine lacks, and a link in a run folder: one line, before anything is written.

Before, ``train --device mps`` (and ``score``, ``resume``) ended in PyTorch's traceback "not linked with
support for mps devices", although the config's own rule named auto, cpu, cuda and cuda:N only; and
``train --resume RUN`` with ``RUN/samples`` a link to a folder of yours wrote the epoch's grid over your
``epoch-NNNN.png`` there, with exit status 0 (and ``runs`` listed such a run as healthy). The refusals come
before training, so nothing here trains but the shared tiny run (tests/training/conftest.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from clitools import cli, fake_run, files
from tiny_run import TINY

MISSING_GPU = "cuda:7"
needs_fewer_than_8_gpus = pytest.mark.skipif(torch.cuda.device_count() > 7, reason="this machine has a cuda:7")
DEVICES = ["mps", pytest.param(MISSING_GPU, marks=needs_fewer_than_8_gpus)]
SAYS = {"mps": ["device must be auto, cpu, cuda or cuda:N (got 'mps')", "mps is not supported"],
        MISSING_GPU: [f"device '{MISSING_GPU}' is not on this machine, which has cpu"]}


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the finished 3-epoch tiny run."""
    return Path(shutil.copytree(tiny_run, tmp_path / "run"))


def _refused(capsys, argv: list[str], *says: str) -> str:
    """``improved-gan ARGV`` in-process: exit status 2 and one line ``error: ...`` on stderr holding every text of
    ``says``; returns what it printed on stdout."""
    from improved_gan.cli.main import main

    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    for text in says:
        assert text in lines[0], lines[0]
    return captured.out


def _stamps(folder: Path) -> dict[str, int]:
    """Every file's modification time (ns) under ``folder``, links followed: a rewrite with equal bytes shows."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


# -- devices -------------------------------------------------------------------------------------------------------

def test_train_on_mps_is_one_line_and_writes_no_run_folder(tmp_path):
    """The command of the issue, in a fresh interpreter as a user runs it."""
    out = tmp_path / "x"
    result = cli("train", "mnist-fm", "--dataset", "mnist5k", "--device", "mps", "--epochs", "1", "--out", str(out),
                 check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "mps is not supported" in result.stderr and "cuda:N" in result.stderr
    assert not out.exists() and "run folder" not in result.stdout


@needs_fewer_than_8_gpus
def test_train_on_a_gpu_this_machine_lacks_names_what_it_has(tmp_path, capsys):
    out = tmp_path / "x"
    said = _refused(capsys, ["train", "mnist-fm", *TINY, "--device", MISSING_GPU, "--out", str(out)],
                    *SAYS[MISSING_GPU])
    assert not out.exists() and "run folder" not in said  # refused before the folder is named


@needs_fewer_than_8_gpus
@pytest.mark.parametrize("argv", [
    ["train", "mnist-fm", *TINY, "--dry-run"],  # exited 0, printing "device": "cuda:7"
    ["ablate", "table3", "--dry-run"],  # exited 0, the same
    ["ablate", "table3"],  # said the Inception weights were missing, not the device
], ids=["train-dry-run", "ablate-dry-run", "ablate"])
def test_a_dry_run_refuses_a_device_the_run_would_refuse(argv, tmp_path, capsys):
    out = tmp_path / "x"
    said = _refused(capsys, [*argv, "--device", MISSING_GPU, "--out", str(out)], *SAYS[MISSING_GPU])
    assert not out.exists() and said == ""


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("command", [["train", "--resume"], ["resume"]])
def test_resume_on_a_device_this_machine_lacks_leaves_the_run_as_it_was(command, device, run_copy, capsys):
    """``--epochs`` more and ``--device``: both change config.json, which stays byte for byte (and its time)."""
    before, stamps = files(run_copy), _stamps(run_copy)
    _refused(capsys, [*command, str(run_copy), "--epochs", "5", "--device", device, "--no-progress"],
             *SAYS[device])
    assert files(run_copy) == before and _stamps(run_copy) == stamps


@pytest.mark.parametrize("device", DEVICES)
def test_score_sample_and_eval_on_a_device_this_machine_lacks_are_one_line(device, tmp_path, capsys):
    run = fake_run(tmp_path / "run", checkpoint=True)
    before = files(run)
    for argv in (["score", str(run)], ["eval", str(run)], ["sample", str(run), "--out", str(tmp_path / "s.png")]):
        _refused(capsys, [*argv, "--device", device], *SAYS[device])
    assert files(run) == before and not (tmp_path / "s.png").exists()


def test_ablate_on_mps_is_one_line(tmp_path, capsys):
    _refused(capsys, ["ablate", "table3", "--device", "mps", "--out", str(tmp_path / "t")], *SAYS["mps"])
    assert not (tmp_path / "t").exists()


def test_resolve_device_is_the_one_check_of_names_and_of_this_machine(monkeypatch):
    from improved_gan.errors import ConfigError
    from improved_gan.training.device import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a machine with two GPUs, as far as asked
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    assert resolve_device("auto") == torch.device("cuda")
    for name, says in [("cuda:2", "which has cpu and cuda:0 to cuda:1; choose one of those"),
                 ("mps", "mps is not supported"), ("xpu", "must be auto, cpu, cuda or cuda:N (got 'xpu')")]:
        with pytest.raises(ConfigError, match="has cpu and cuda:0 to cuda:1") as err:
            resolve_device(name)
        assert says in str(err.value)


# A name the rule let through that torch refuses or misreads: a traceback (exit 1) after 4-5 s, on every command
# that takes --device. cuda:01 and cuda:\u0663 (an Arabic-Indic three, which \d matched) are "Invalid device
# string" to torch; cuda:99999999999999999999 overflows; torch's device index is an 8-bit integer, so cuda:128
# becomes cuda:-128 and cuda:32767 becomes plain cuda.
ODD_GPU_NAMES = ["cuda:01", "cuda:00", "cuda:\u0663", "cuda:99999999999999999999", "cuda:128", "cuda:32767",
                 "cuda:+1", "cuda:-1", "cuda: 1", "cuda:1 ", "cuda:", "CUDA:0", "cuda:\uff11"]


@pytest.mark.parametrize("name", ODD_GPU_NAMES)
def test_a_gpu_index_is_ascii_digits_without_leading_zeros_and_fits_torch(name):
    from improved_gan.config import device_problem

    said = device_problem(name, "--device")
    assert said.startswith(f"--device must be auto, cpu, cuda or cuda:N (got {name!r})"), said
    assert name.startswith("CUDA") or said.endswith("N is a GPU's index, 0 to 127 in digits 0-9 without leading zeros")


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:7", "cuda:10", "cuda:127"])
def test_the_names_a_run_takes_are_names_torch_reads_as_they_are(name):
    from improved_gan.config import device_problem

    assert device_problem(name) is None
    assert name == "auto" or str(torch.device(name)) == name


def test_train_dry_run_on_an_odd_gpu_name_is_one_line(tmp_path):
    """The command of the issue, in a fresh interpreter as a user runs it."""
    out = tmp_path / "x"
    result = cli("train", "mnist-fm", "--dataset", "mnist5k", "--dry-run", "--out", str(out), "--device", "cuda:01",
                 check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert "device must be auto, cpu, cuda or cuda:N (got 'cuda:01')" in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == "" and not out.exists(), result.stderr


@pytest.mark.parametrize("name", ["cuda:01", "cuda:\u0663", "cuda:99999999999999999999"])
def test_every_command_refuses_an_odd_gpu_name_in_one_line(name, run_copy, tmp_path, capsys):
    before = files(run_copy)
    said = f"device must be auto, cpu, cuda or cuda:N (got {name!r})"
    flag = ["--device", name]
    for argv in (["eval", str(run_copy), *flag], ["score", str(run_copy), *flag],
                 ["sample", str(run_copy), "--out", str(tmp_path / "s.png"), *flag],
                 ["resume", str(run_copy), "--epochs", "5", *flag],
                 ["train", "--resume", str(run_copy), "--epochs", "5", *flag],
                 ["ablate", "table3", "--dry-run", "--out", str(tmp_path / "t"), *flag],
                 ["train", "mnist-fm", *TINY, "--dry-run", "--out", str(tmp_path / "x"), *flag],
                 ["train", "mnist-fm", *TINY, "--out", str(tmp_path / "x"), *flag],
                 ["train", "mnist-fm", *TINY, "--set", f"device={name}", "--out", str(tmp_path / "x")]):
        assert _refused(capsys, argv, said) == "", argv
    assert files(run_copy) == before and sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# -- links -----------------------------------------------------------------------------------------------------------

def _link_samples_to_yours(run: Path, yours: Path, epoch: int) -> Path:
    """RUN/samples replaced by a link to ``yours``, a folder of the user's holding the run's grids and an
    ``epoch-NNNN.png`` of the user's own for ``epoch``; returns that file."""
    shutil.move(run / "samples", yours)
    (run / "samples").symlink_to(yours)
    mine = yours / f"epoch-{epoch:04d}.png"
    mine.write_bytes(b"my own figure, not a sample grid")
    return mine


def test_resume_refuses_to_write_a_grid_through_a_link_to_your_folder(run_copy, tmp_path):
    """The case of the issue, through a fresh interpreter: the run trained 3 epochs, resumed to 4."""
    mine = _link_samples_to_yours(run_copy, tmp_path / "figures", epoch=4)
    yours_before, stamp = files(tmp_path / "figures"), mine.stat().st_mtime_ns
    run_before = files(run_copy)
    result = cli("train", "--resume", str(run_copy), "--epochs", "4", "--no-progress", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: ") and result.stderr.count("error:") == 1, result.stderr
    for text in (str(run_copy / "samples"), f"link to {tmp_path / 'figures'}", "outside the run folder",
                 "remove the link", "nothing was written"):
        assert text in error, error
    assert files(tmp_path / "figures") == yours_before and mine.stat().st_mtime_ns == stamp
    assert files(run_copy) == run_before


@pytest.mark.parametrize("name", ["checkpoints", "tensorboard", "metrics.jsonl", "log.txt", "report.md",
                            "test_errors.png", "scores.json", "running.pid", "checkpoints/last.pt"])
def test_every_path_a_run_writes_is_refused_as_a_link_outside(name, tmp_path, capsys):
    run = fake_run(tmp_path / "run", checkpoint=True)
    (run / "tensorboard").mkdir()
    yours = tmp_path / "yours" / name.replace("/", "-")
    yours.parent.mkdir()
    if (run / name).exists():
        shutil.move(run / name, yours)
    elif name in ("checkpoints", "tensorboard"):
        yours.mkdir()
    else:
        yours.write_text("yours")
    (run / name).symlink_to(yours)
    before, stamps = files(tmp_path), _stamps(tmp_path)
    _refused(capsys, ["resume", str(run), "--epochs", "3", "--no-progress"],
             f"{run / name} is a symbolic link to {yours} (outside the run folder)", "remove the link")
    assert files(tmp_path) == before and _stamps(tmp_path) == stamps


def test_a_link_inside_the_run_folder_is_refused_too(tmp_path, capsys):
    """Consistently refused, not allowed: ``log.txt -> config.json`` would append the log to the config."""
    run = fake_run(tmp_path / "run", checkpoint=True)
    (run / "log.txt").symlink_to("config.json")
    before = files(run)
    _refused(capsys, ["resume", str(run), "--epochs", "3"],
             f"{run / 'log.txt'} is a symbolic link to config.json (inside the run folder)")
    assert files(run) == before


def test_several_links_are_named_those_reaching_outside_first(tmp_path, capsys):
    run = fake_run(tmp_path / "run", checkpoint=True)
    (run / "log.txt").symlink_to("config.json")
    (run / "samples").symlink_to(tmp_path / "gone")
    (run / "checkpoints" / "old.pt").symlink_to(tmp_path)
    _refused(capsys, ["resume", str(run)], "holds 3 symbolic links where a run writes: checkpoints/old.pt -> "
             f"{tmp_path} (outside the run folder), log.txt -> config.json (inside the run folder), samples -> "
             f"{tmp_path / 'gone'} (which does not exist)")


@pytest.mark.parametrize("argv", [["report"], ["score", "--device", "cpu"]])
def test_report_and_score_refuse_a_run_with_a_link(argv, tmp_path, capsys):
    """They write report.md, its plots and scores.json into the run: the same rule, before any work."""
    run = fake_run(tmp_path / "run", checkpoint=True)
    (tmp_path / "figures").mkdir()
    (run / "samples").symlink_to(tmp_path / "figures")
    before = files(run)
    _refused(capsys, [argv[0], str(run), *argv[1:]], f"{run / 'samples'} is a symbolic link")
    assert files(run) == before


def test_a_new_run_into_a_folder_holding_a_link_is_refused_naming_it(tmp_path, capsys):
    run = fake_run(tmp_path / "run", epochs_done=0, epochs=3)  # an unfinished start: the run may start again
    (tmp_path / "figures").mkdir()
    (run / "samples").symlink_to(tmp_path / "figures")
    _refused(capsys, ["train", "mnist-fm", *TINY, "--out", str(run)],
             f"{run / 'samples'} is a symbolic link to {tmp_path / 'figures'}")
    assert os.listdir(tmp_path / "figures") == []


def test_the_run_folder_itself_may_be_a_link(tmp_path, capsys):
    from improved_gan.cli.main import main

    run = fake_run(tmp_path / "disk" / "run")
    (tmp_path / "run").symlink_to(run)
    assert main(["report", str(tmp_path / "run")]) == 0
    assert (run / "report.md").is_file()


def test_runs_lists_a_run_with_a_link_as_damaged_naming_the_link(tmp_path, capsys):
    """``runs`` said such a run was healthy (finished, unfinished) while resume, report and score refuse it."""
    import json

    from improved_gan.cli.main import main

    linked = fake_run(tmp_path / "runs" / "linked", checkpoint=True)
    (linked / "samples").mkdir()
    _link_samples_to_yours(linked, tmp_path / "figures", epoch=2)
    fake_run(tmp_path / "runs" / "plain", checkpoint=True)
    assert main(["runs", str(tmp_path / "runs"), "--json"]) == 0
    listed = {Path(row["run"]).name: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert (listed["linked"]["status"], listed["plain"]["status"]) == ("damaged", "unfinished"), listed
    assert f"samples is a symbolic link to {tmp_path / 'figures'} (outside the run folder)" in listed["linked"]["problem"]
    assert main(["runs", str(tmp_path / "runs")]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "linked" in line)
    assert "damaged" in line and "samples is a symbolic link" in line, line
