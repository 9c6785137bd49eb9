"""What `improved-gan report` and `improved-gan runs` refuse, and what they show: a refusal is one line
(``error: ...``, exit status 2) with the runs and the user's files as they were.

Each row of the table was, before, a traceback, a run compared with itself (counted twice over seeds), a
file put into a run that its trainer does not write, or a user's notes replaced with exit status 0.
In-process (``main([...])``) with hand-made run folders (a config.json, metrics.jsonl and checkpoint are all
`report` and `runs` read). A damaged run's metrics or checkpoints: test_refusals_damaged_runs.py.
"""

from __future__ import annotations

import json
import os

import pytest
from clitools import fake_run, hold_run_lock, refusal, refuses

from improved_gan.cli.main import main


@pytest.fixture
def folder(tmp_path):
    """Two finished runs a/ and b/, a link to a/, a folder dir/, and the user's notes.md and fig.png."""
    for name in ("a", "b"):
        fake_run(tmp_path / name, epochs_done=2, checkpoint=True)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    (tmp_path / "dir").mkdir()
    (tmp_path / "notes.md").write_text("my notes")
    (tmp_path / "fig.png").write_text("my figure")  # the plot of fig.md would go here
    return tmp_path


A, B = "{tmp}/a", "{tmp}/b"


@pytest.mark.parametrize("case", [
    *[refusal(f"the-same-run-{how}", ["report", A, second, "--out", "{tmp}/c.md"], "are the same run")
      for how, second in (("twice", A), ("with-a-slash", A + "/"), ("through-a-link", "{tmp}/link"))],
    refusal("out-inside-a-run", ["report", A, B, "--out", A + "/cmp.md"], "lies inside the run"),
    refusal("out-a-folder", ["report", A, A, "--out", "{tmp}/dir"], "is a folder"),
    refusal("out-a-users-markdown", ["report", A, B, "--out", "{tmp}/notes.md"], "not written by improved-gan"),
    refusal("out-beside-a-users-png", ["report", A, B, "--out", "{tmp}/fig.md"], "fig.png exists"),
    refusal("runs-of-a-missing-folder", ["runs", "{tmp}/nope"], "no such folder"),
])  # fmt: skip
def test_report_and_runs_refuse(case, folder, capsys, monkeypatch):
    refuses(capsys, monkeypatch, folder, case)


def test_a_comparison_written_before_is_replaced(folder):
    runs = [str(folder / "a"), str(folder / "b")]
    assert main(["report", *runs, "--out", str(folder / "cmp.md")]) == 0
    assert main(["report", *runs, "--out", str(folder / "cmp.md")]) == 0


def test_comparison_has_a_config_diff_column_and_mean_std_over_seeds(tmp_path, capsys):
    runs = [fake_run(tmp_path / f"s{s}", epochs_done=2, checkpoint=True, seed=s, errors=(500, e))
            for s, e in ((0, 100), (1, 120), (2, 140))]
    other = fake_run(tmp_path / "lr", epochs_done=2, checkpoint=True, lr=0.001, errors=(500, 300))
    out = tmp_path / "cmp.md"
    assert main(["report", *map(str, runs), str(other), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| differs in |" in text and "lr=0.001, seed=0" in text and "lr=0.003, seed=2" in text
    assert "| lr=0.003 | 3 (seeds 0, 1, 2) | 120.0 +- 20.0 | 100 - 140 |" in text
    assert out.with_suffix(".png").is_file()


def test_runs_lists_status_epochs_and_last_test_errors(tmp_path, capsys):
    fake_run(tmp_path / "runs" / "done", epochs_done=2, checkpoint=True, errors=(500, 123))
    fake_run(tmp_path / "runs" / "stopped", epochs_done=1, epochs=5, checkpoint=True)
    live = fake_run(tmp_path / "runs" / "live", epochs_done=1, epochs=5, checkpoint=True)
    broken = fake_run(tmp_path / "runs" / "deep" / "broken", epochs_done=2, checkpoint=True)
    (broken / "config.json").write_text("{")
    (fake_run(tmp_path / "runs" / "noconfig", epochs_done=2, checkpoint=True) / "config.json").unlink()  # "no runs"
    with hold_run_lock(live, os.getppid()):  # the run's lock held, as by a trainer
        assert main(["runs", str(tmp_path / "runs")]) == 0
        out = capsys.readouterr().out.splitlines()
        assert main(["runs", str(tmp_path / "runs"), "--json"]) == 0
        rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    line = {row.split()[0].rsplit("/", 1)[-1]: row for row in out[1:]}
    assert "finished" in line["done"] and "2/2" in line["done"] and "123/1000 (12.30%)" in line["done"]
    assert "unfinished" in line["stopped"] and "1/5" in line["stopped"]
    assert "running" in line["live"]
    assert "damaged" in line["broken"] and "not valid JSON" in line["broken"]
    assert "damaged" in line["noconfig"] and "config.json not found" in line["noconfig"]
    assert {r["status"] for r in rows} == {"finished", "unfinished", "running", "damaged"}


def test_runs_does_not_follow_a_link_back_up(tmp_path, capsys):
    """`runs top` with top/loop/up -> .. listed top's runs again (and runs beside top, through the link)."""
    fake_run(tmp_path / "top" / "a")
    (tmp_path / "top" / "loop").mkdir()
    (tmp_path / "top" / "loop" / "up").symlink_to("..")
    (tmp_path / "top" / "link").symlink_to(tmp_path / "top" / "a")
    assert main(["runs", str(tmp_path / "top"), "--json"]) == 0
    assert [json.loads(line)["run"] for line in capsys.readouterr().out.splitlines()] == [str(tmp_path / "top" / "a")]


def test_a_run_that_cannot_be_written_is_refused_before_its_report_is_made(folder, capsys, monkeypatch):
    """On a read-only run folder `report RUN` made its plots for 4.5 s, then failed. (As root no folder refuses a
    write, so the file system's answer is made here: EROFS for the run folder.)"""
    from clitools import files, one_line_error, pretend_read_only
    from improved_gan.runs import report

    run = folder / "a"
    pretend_read_only(monkeypatch, run)
    monkeypatch.setattr(report, "write_report", lambda *a, **k: pytest.fail("the report was made before the check"))
    before = files(run)
    one_line_error(capsys, ["report", str(run)], "the run's report", "cannot be written: Read-only file system",
                   "make the run folder writable")
    assert files(run) == before
