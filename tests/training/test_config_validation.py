"""`TrainConfig.validate` checks every field, and `train --dry-run` runs it: each bad value is one line.

In-process (``main([...])``) so that each case costs milliseconds; before issue 17 every one of
these was a traceback, or was accepted and failed (or misled) later.
"""

from __future__ import annotations

import json

import pytest

from improved_gan.cli.main import main
from improved_gan.config import TrainConfig, load_config
from improved_gan.errors import ConfigError

DRY = ["train", "mnist-fm", "--dataset", "mnist5k", "--dry-run"]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--set", "sample_grid=0"], "sample_grid must be between 1 and 10000"),
        (["--set", "sample_grid=-4"], "sample_grid must be between 1 and 10000"),
        (["--set", "sample_grid=1000000"], "sample_grid must be between 1 and 10000"),
        (["--set", "d_input_noise=-1"], "d_input_noise must be >= 0"),
        (["--set", "historical_averaging=nan"], "historical_averaging must be a finite number"),
        (["--set", "unsupervised_weight=-3"], "unsupervised_weight must be >= 0"),
        (["--set", "lr=inf"], "lr must be a finite number"),
        (["--set", "ema_rate=nan"], "ema_rate must be a finite number"),
        (["--labels", "55"], "labels must be a multiple of the 10 classes"),
        (["--labels", "-10"], "labels must be >= 0"),
        (["--device", "banana"], "device must be auto, cpu, cuda or cuda:N (got 'banana')"),
        (["--seed", "-1"], "seed must be >= 0 and at most 4,294,967,295"),
        (["--set", "learning_rate=0.1"], "unknown config key 'learning_rate'"),
        (["--set", "lrr=0.1"], "(did you mean 'lr'?)"),
        (["--set", "sample_gird=16"], "(did you mean 'sample_grid'?)"),
        (["--dataset", "mnits"], "(did you mean 'mnist'?)"),
    ],
)
def test_dry_run_refuses_each_bad_value_in_one_line(args, says, capsys):
    assert main([*DRY, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and says in err, err


def test_dry_run_prints_a_good_config(capsys):
    assert main([*DRY, "--labels", "50"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == 50


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("labels", "abc", "labels must be an integer (got 'abc')"),
        ("lr", "fast", "lr must be a number"),
        ("d_widths", [96], "d_widths must be 2 numbers"),
        ("mode", "gan-ish", "mode must be one of"),
        ("fast_step", 1, "fast_step must be true or false"),
        ("latent_dim", 12.5, "latent_dim must be an integer"),
    ],
)
def test_a_corrupt_config_json_value_is_one_clear_error(field, value, says, tmp_path):
    data = TrainConfig(dataset="mnist5k").to_dict()
    data[field] = value
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="config.json") as err:
        load_config(tmp_path / "config.json")
    assert says in str(err.value)


def test_a_config_json_that_is_not_an_object_is_one_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(tmp_path / "config.json")


def test_json_numbers_keep_working():
    """An int where a float is declared (``"lr": 1``) is a number; the round trip is exact."""
    config = TrainConfig(dataset="mnist5k")
    assert TrainConfig.from_dict({**config.to_dict(), "ema_rate": 1}).ema_rate == 1
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_config_is_checked_once_and_a_changed_copy_again(monkeypatch):
    """A frozen config that passed `validate` stays valid: the second call does not check again, and the mark it
    leaves is not a field (equality, `to_dict`); `dataclasses.replace` makes a new config, which is checked."""
    import dataclasses

    import improved_gan.config as config_module

    checked = []
    original = config_module._type_problems
    monkeypatch.setattr(config_module, "_type_problems", lambda c: checked.append(c) or original(c))
    config = TrainConfig(dataset="mnist5k")
    assert config.validate() is config and config.validate() is config
    assert len(checked) == 1
    assert config == TrainConfig(dataset="mnist5k") and "_passed_validation" not in config.to_dict()
    with pytest.raises(ConfigError, match="labels must be a multiple of the 10 classes"):
        dataclasses.replace(config, labels=55).validate()
    failed = dataclasses.replace(config, labels=55)
    for _ in range(2):  # a config that failed is not marked: it fails every time
        with pytest.raises(ConfigError):
            failed.validate()


@pytest.mark.parametrize(
    "rule, accepted, refused",
    [
        ("POSITIVE", [1e-12, 1, 10**9], [0, -1e-12, -5]),
        ("NOT_NEGATIVE", [0, 0.0, 3], [-1, -1e-12]),
        ("UNIT_OPEN", [1e-9, 0.5, 1 - 1e-9], [0.0, 1.0, -0.1, 1.1]),
        ("UNIT_RIGHT_CLOSED", [1e-9, 1.0], [0.0, 1.0 + 1e-9]),
        ("UNIT_LEFT_CLOSED", [0.0, 1 - 1e-9], [1.0, -1e-9]),
        ("SEED", [0, 2**32 - 1], [-1, 2**32]),
    ],
)
def test_the_named_ranges_include_exactly_their_ends(rule, accepted, refused):
    """Each named range of config.py against its definition written out: which ends are in, which are out."""
    import improved_gan.config as config_module

    checked = getattr(config_module, rule)
    assert [checked.problem("x", v) for v in accepted] == [None] * len(accepted)
    assert all(checked.problem("x", v).startswith("x must be") for v in refused)
    assert checked.problem("x", None) is None  # None is a field's "not set", never asked


def test_an_interval_refuses_an_unknown_open_end():
    from improved_gan.config import interval

    with pytest.raises(ValueError, match="open must be"):
        interval(0, 1, open="left", says="{name}")
