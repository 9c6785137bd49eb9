"""What the study's own modules refuse, without the command line: the invitations to make and their file
(turing/invitations.py), the exports (turing/export.py), the planned sessions and recurring images of a new
study (turing/config.py, turing/create.py), a study the database lacks (turing/store.py)."""

from __future__ import annotations

import json
import warnings

import pytest

from improved_gan.errors import ConfigError, UserError
from improved_gan.turing.config import StudyOptions, check_planned_sessions
from improved_gan.turing.export import Exports
from improved_gan.turing.invitations import MAX_BATCH, check_invitations_file, invitation_labels
from turing.study_data import stored_study, study_pools


def test_invitations_are_n_unlabelled_or_one_per_line_of_a_file(tmp_path):
    assert invitation_labels(3) == [None] * 3
    for n in (0, MAX_BATCH + 1):
        with pytest.raises(ConfigError, match=f"--n must be between 1 and {MAX_BATCH:,} invitations"):
            invitation_labels(n)
    (tmp_path / "ids.txt").write_bytes("\ufeffp-1\n\n p-2 \n".encode())
    assert invitation_labels(labels_file=tmp_path / "ids.txt") == ["p-1", "p-2"]
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(ConfigError, match="holds no labels"):
        invitation_labels(labels_file=tmp_path / "blank.txt")
    (tmp_path / "bytes.bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="is not a UTF-8 text file"):
        invitation_labels(labels_file=tmp_path / "bytes.bin")
    (tmp_path / "twice.txt").write_text("a\na\n")
    with pytest.raises(ConfigError, match="label 'a' appears twice"):
        invitation_labels(labels_file=tmp_path / "twice.txt")


def test_the_invitations_file_is_a_new_one(tmp_path):
    check_invitations_file(tmp_path / "codes.csv")
    (tmp_path / "old.csv").write_text("label,code,link\n")
    with pytest.raises(ConfigError, match="exists; invitation codes are shown once"):
        check_invitations_file(tmp_path / "old.csv")
    (tmp_path / "link.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(UserError, match=r"is a symbolic link \(to .*gone.csv\)"):  # the rule of every output
        check_invitations_file(tmp_path / "link.csv")
    with pytest.raises(UserError, match="old.csv is a file"):
        check_invitations_file(tmp_path / "old.csv" / "codes.csv")


def test_planned_sessions_are_at_least_one():
    assert check_planned_sessions(1) == 1
    with pytest.raises(ConfigError, match=r"--sessions must be at least 1 \(got 0\)"):
        check_planned_sessions(0)


def test_create_refuses_recurring_images_when_not_allowed(tmp_path):
    from improved_gan.turing.create import PoolWarning, create_study

    real, generated = study_pools(60)
    options = StudyOptions(slug="s", per_session=10, feedback="on")
    with pytest.raises(ConfigError, match="would show each image of the feedback arm.*--allow-recurring-images"):
        create_study(tmp_path / "s", options, real=real, generated=generated, planned_sessions=40,
                     allow_recurring_images=False)
    assert not (tmp_path / "s").exists()
    with pytest.raises(ConfigError, match="--sessions must be at least 1"):
        create_study(tmp_path / "s", options, real=real, generated=generated, planned_sessions=0)
    with pytest.warns(PoolWarning, match="would show each image of the feedback arm"):
        create_study(tmp_path / "s", options, real=real, generated=generated, planned_sessions=40)


@pytest.fixture
def study(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with stored_study(tmp_path, StudyOptions(slug="e", per_session=4), 12) as opened:
            yield opened


def test_exports_replace_only_their_own_kind_and_never_one_another(study, tmp_path):
    from improved_gan.turing.stats import summarize_study

    store, row = study
    exports = Exports(json=tmp_path / "r.json", votes_csv=tmp_path / "v.csv", images_csv=tmp_path / "i.csv")
    exports.check()
    votes = store.votes(row.id)
    assert list(exports.write(row, summarize_study(store, row, votes), votes)) == [
        tmp_path / "r.json", tmp_path / "v.csv", tmp_path / "i.csv"]
    assert json.loads((tmp_path / "r.json").read_text())["study"]["slug"] == "e"
    exports.check()  # an earlier export of each kind is replaced
    with pytest.raises(UserError, match="--json .* exists and was not written by improved-gan"):
        Exports(json=tmp_path / "v.csv").check()  # a vote table is not a JSON export
    with pytest.raises(UserError, match="--json and --images-csv both name"):
        Exports(json=tmp_path / "x", images_csv=tmp_path / "." / "x").check()


def test_the_store_names_a_study_it_lacks(study):
    store, row = study
    assert store.named_study("e").id == row.id
    with pytest.raises(ConfigError, match="the database holds no study named 'nope'"):
        store.named_study("nope")


def test_a_missing_web_extra_is_one_line_naming_the_install(tmp_path, capsys, monkeypatch):
    import importlib.util

    from clitools import one_line_error

    from improved_gan.turing import WEB_MODULES, require_web_extra

    require_web_extra()  # this environment has it
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in WEB_MODULES[:2] else
                        find_spec(name, *a))
    with pytest.raises(UserError, match=r"needs the web extra \(fastapi, uvicorn not installed\): pip install"):
        require_web_extra()
    one_line_error(capsys, ["turing", "results", str(tmp_path)], "pip install 'improved-gan[turing]'")
