"""Every bad input to the command line is one line (``error: ...``, exit status 2), never a traceback.

In-process (``main([...])``) with hand-made run folders (a config.json and metrics.jsonl are all
`report` and `runs` read), so each case costs milliseconds. Issue 17 lists each of these as a
traceback or as silently accepted.
"""

from __future__ import annotations

import errno
import functools
import json
from pathlib import Path

import pytest
import clitools
from clitools import one_line_error

from improved_gan.cli.main import main


fake_run = functools.partial(clitools.fake_run, epochs_done=2, checkpoint=True)  # a finished run by default


# -- report ---------------------------------------------------------------------------------------

def test_report_out_naming_a_folder_is_one_line(tmp_path, capsys):
    run = fake_run(tmp_path / "a")
    (tmp_path / "dir").mkdir()
    one_line_error(capsys, ["report", str(run), str(run), "--out", str(tmp_path / "dir")], "is a folder")


def test_comparison_has_a_config_diff_column_and_mean_std_over_seeds(tmp_path, capsys):
    runs = [fake_run(tmp_path / f"s{s}", seed=s, errors=(500, e)) for s, e in ((0, 100), (1, 120), (2, 140))]
    other = fake_run(tmp_path / "lr", lr=0.001, errors=(500, 300))
    out = tmp_path / "cmp.md"
    assert main(["report", *map(str, runs), str(other), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| differs in |" in text and "lr=0.001, seed=0" in text and "lr=0.003, seed=2" in text
    assert "| lr=0.003 | 3 (seeds 0, 1, 2) | 120.0 +- 20.0 | 100 - 140 |" in text
    assert out.with_suffix(".png").is_file()


# -- runs -----------------------------------------------------------------------------------------

def test_runs_lists_status_epochs_and_last_test_errors(tmp_path, capsys):
    fake_run(tmp_path / "runs" / "done", errors=(500, 123))
    fake_run(tmp_path / "runs" / "stopped", epochs_done=1, epochs=5)
    live = fake_run(tmp_path / "runs" / "live", epochs_done=1, epochs=5)
    import os

    from clitools import hold_run_lock

    broken = fake_run(tmp_path / "runs" / "deep" / "broken")
    (broken / "config.json").write_text("{")
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
    assert {r["status"] for r in rows} == {"finished", "unfinished", "running", "damaged"}


def test_runs_of_a_missing_folder_is_one_line(tmp_path, capsys):
    one_line_error(capsys, ["runs", str(tmp_path / "nope")], "no such folder")


# -- sample ---------------------------------------------------------------------------------------

# -- score ----------------------------------------------------------------------------------------

# -- file-system errors in train ---------------------------------------------------------------------

