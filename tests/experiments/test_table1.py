"""`improved-gan reproduce table1`: the plan, its refusals, resumable training, the table and the ensemble."""

from __future__ import annotations

import json

import pytest
from clitools import cli
from tiny_run import TINY_TABLE1


TINY = TINY_TABLE1


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    out = tmp_path_factory.mktemp("table1")
    result = cli("reproduce", "table1", *TINY, "--labels", "20", "100", "--seeds", "0-1", "--jobs", "2", "--out", str(out))
    return out, result


def test_every_run_trains_and_the_table_names_the_test_set_it_counts(table):
    """mnist5k's runs count errors of its 1,000 test digits: the table said 'of 10,000' and put the paper's
    93 of 10,000 beside them. Now it names 1,000 and leaves the paper's columns empty, saying why."""
    out, result = table
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["l100-s0", "l100-s1", "l20-s0", "l20-s1"]
    text = (out / "table1.md").read_text()
    assert text.startswith("# Table 1: semi-supervised permutation-invariant MNIST (test errors of 1,000)\n")
    assert "10,000)" not in text.splitlines()[0] and "93 +- 6.5" not in text and "86 +- 5.6" not in text
    row = next(line for line in text.splitlines() if line.startswith("| 100 | 2 | 0 | 2 | ema |"))
    assert row.split("|")[8].strip() == "-" and row.split("|")[10].strip() == "-"  # paper, paper ensemble
    assert "The paper's columns are empty: the paper counts errors of the 10,000 MNIST test digits, these runs " \
           "of 1,000 (dataset mnist5k)" in text
    assert (out / "table1-curves.png").stat().st_size > 0
    assert "table: " in result.stdout


def test_the_paper_stands_beside_counts_of_its_own_test_set(tmp_path, shared_data):
    """Runs that count errors of the 10,000 MNIST test digits (hand-made metrics: no training) get the paper's
    numbers beside them, and the table says 'of 10,000'."""
    import dataclasses

    from improved_gan.experiments.presets import get_preset
    from improved_gan.experiments.table1 import plan_table1, summarize, write_table

    base = dataclasses.replace(get_preset("mnist-fm"), dataset="mnist", data_dir=str(shared_data), epochs=2)
    planned = plan_table1(base, labels=[100], seeds=[0, 1], out=tmp_path)
    for run, errors in zip(planned, (90, 100)):
        run.folder.mkdir()
        (run.folder / "config.json").write_text(json.dumps(run.config.to_dict()))
        rows = [{"epoch": e, "test_errors": errors, "test_errors_raw": errors, "test_examples": 10_000,
                 "loss_d": 1.0, "loss_g": 1.0, "loss_unsup": 0.5} for e in (1, 2)]
        (run.folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = write_table(summarize(planned, ensemble=False), planned, tmp_path).read_text()
    assert text.startswith("# Table 1: semi-supervised permutation-invariant MNIST (test errors of 10,000)\n")
    assert "| 100 | 2 | 0 | 2 | ema | 95.0 +- 7.1 | 95.0 +- 7.1 | 93 +- 6.5 | - | 86 +- 5.6 |" in text
    assert "columns are empty" not in text


def test_the_ensemble_of_one_model_twice_is_that_model(table, tmp_path):
    from improved_gan.experiments.table1 import ensemble_errors
    from improved_gan.training.evaluate import evaluate_run

    run = table[0] / "l100-s0"
    assert ensemble_errors([run, run], which="ema") == evaluate_run(run, device="cpu")["test_errors"]
    assert ensemble_errors([run, run], which="raw") == evaluate_run(run, device="cpu")["test_errors_raw"]


def test_a_finished_table_is_not_trained_again(table):
    out, _ = table
    before = {p.name: (p / "metrics.jsonl").read_text() for p in out.iterdir() if p.is_dir()}
    again = cli("reproduce", "table1", *TINY, "--labels", "20", "100", "--seeds", "0-1", "--out", str(out))
    assert again.returncode == 0
    assert {p.name: (p / "metrics.jsonl").read_text() for p in out.iterdir() if p.is_dir()} == before


def test_dry_run_prints_the_plan_and_its_cost(tmp_path):
    result = cli("reproduce", "table1", *TINY, "--labels", "100", "--seeds", "0-2", "--out", str(tmp_path), "--dry-run")
    assert result.stdout.count(str(tmp_path / "l100-s")) == 3
    assert "expected wall time with --jobs 1" in result.stdout and "ms here" in result.stdout
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


@pytest.mark.parametrize(
    "args, says",
    [
        (["--labels", "55"], "multiple of the 10 classes"),
        (["--labels", "7", "--dataset", "mnist", "--data-dir", "/nonexistent"], "multiple of the 10 classes"),  # was
        # "MNIST not found": the data was loaded (or downloaded) before the label count was checked
        (["--labels", "5000"], "ask for at most"),
        (["--labels"], "no label counts given"),
        (["--seeds", ""], "no seeds given"),
        (["--seeds", "1,1"], "seeds given twice: [1]"),
        (["--preset", "cifar10-fm"], "--preset must be one of mnist-fm, mnist-fm-paper, mnist-fm-stable"),
        (["--seeds", "a-b"], "expected seeds like 0-9"),
    ],
)
def test_bad_input_is_one_line(args, says, tmp_path, capsys):
    """In-process (the same parser and error contract as the command, without a new interpreter per case)."""
    from improved_gan.cli.main import main

    try:
        status = main(["reproduce", "table1", *TINY, "--out", str(tmp_path), "--dry-run", *args])
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2 and says in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_an_out_folder_of_another_configuration_is_refused(table, tmp_path):
    out, _ = table
    result = cli("reproduce", "table1", *TINY, "--labels", "20", "--seeds", "0", "--out", str(out),
                 "--set", "lr=0.001", check=False)  # fmt: skip
    assert result.returncode == 2
    assert "holds a run of another configuration: lr=0.003 (now 0.001)" in result.stderr


def test_the_plan_takes_only_table_1s_presets_and_datasets_and_sets_labels_and_seeds_itself(tmp_path):
    """The facts of the plan (experiments/table1.py), without the command line: which presets and datasets
    Table 1 takes, and that an override may not replace the label count or seed that each run gets."""
    from improved_gan.errors import UserError
    from improved_gan.experiments.table1 import PLANNED_FIELDS, PRESETS, base_config, plan_table1

    assert {base_config(name).preset for name in PRESETS} == set(PRESETS)
    with pytest.raises(UserError, match="--preset must be one of mnist-fm, mnist-fm-paper, mnist-fm-stable"):
        base_config("cifar10-fm")
    base = base_config("mnist-fm")
    with pytest.raises(UserError, match="Table 1 is an MNIST experiment: the dataset must be mnist or mnist5k"):
        plan_table1(base, labels=[20], seeds=[0], out=tmp_path, overrides={"dataset": "cifar10"})
    for key, flag in PLANNED_FIELDS.items():
        with pytest.raises(UserError, match=f"every run of the table has its own {key}; give them with {flag}"):
            plan_table1(base, labels=[20], seeds=[0], out=tmp_path, overrides={key: "3"})
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("jobs, stack, seeds, says", [
    (0, None, 10, "--jobs must be at least 1 (got 0)"),
    (1, 0, 10, "--stack must be at least 1 seed (got 0)"),
    (1, 11, 10, "--stack 11 is more than the 10 seeds asked for; use --stack 10"),
    (2, 5, 10, "--jobs 2 would be ignored"),
])  # fmt: skip
def test_how_the_plan_is_trained_is_checked(jobs, stack, seeds, says):
    from improved_gan.errors import UserError
    from improved_gan.experiments.table1 import check_jobs

    with pytest.raises(UserError, match=says.replace("(", r"\(").replace(")", r"\)")):
        check_jobs(jobs, stack=stack, seeds=seeds)
    check_jobs(4, stack=None, seeds=seeds)
    check_jobs(1, stack=seeds, seeds=seeds)


def test_a_table_of_no_finished_run_is_refused(tmp_path):
    from improved_gan.errors import UserError
    from improved_gan.experiments.table1 import write_table

    with pytest.raises(UserError, match="no run of this plan has finished an epoch yet"):
        write_table([], [], tmp_path)
    assert not any(tmp_path.iterdir())
