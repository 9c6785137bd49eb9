"""A study folder: opaque names, equal files, no answer key on disk, all or nothing."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from improved_gan.errors import ConfigError, UserError
from improved_gan.turing.config import StudyFolder, StudyOptions, slug_from_folder
from improved_gan.turing.create import ImagePool, create_study
from improved_gan.turing.store import Store
from improved_gan.turing.database import default_url

from turing.study_data import study_pools


def test_folder_holds_images_manifest_and_store(make_study):
    created = make_study(n=12)
    folder = StudyFolder(created.folder)
    files = sorted(folder.images_dir.iterdir())
    assert len(files) == 24
    assert {len(f.read_bytes()) for f in files} == {len((files[0]).read_bytes())}
    assert len({os.stat(f).st_mtime for f in files}) == 1
    assert all(len(f.stem) == 32 and f.suffix == ".png" for f in files)
    manifest = folder.read_manifest()
    assert manifest["options"]["slug"] == "demo" and manifest["real"]["count"] == 12
    text = folder.manifest_path.read_text()
    assert not any(f.stem in text for f in files)  # the answer key is only in the store
    assert sorted(os.listdir(created.folder.parent)) == ["demo"]  # no staging left behind


def test_store_knows_every_file_and_its_kind(make_study):
    created = make_study(n=12)
    store = Store.open(default_url(created.folder))
    study = store.study("demo")
    images = store.images(study.id)
    store.close()
    assert sum(im.is_generated for im in images) == 12
    on_disk = {f.stem for f in StudyFolder(created.folder).images_dir.iterdir()}
    assert {im.name for im in images} == on_disk
    assert {im.origin for im in images if not im.is_generated} == {f"noise[{i}]" for i in range(12)}


def test_refusals(tmp_path, make_study):
    real, generated = study_pools(4)
    options = StudyOptions(slug="x", per_session=4)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("")
    with pytest.raises(ConfigError, match="not empty"):
        create_study(tmp_path / "full", options, real=real, generated=generated)
    with pytest.raises(UserError, match="same height, width and channels"):
        small = ImagePool(np.zeros((4, 4, 4, 3), np.uint8))
        create_study(tmp_path / "a", options, real=real, generated=small)
    with pytest.raises(ConfigError, match="lower per_session to at most 4"):
        create_study(tmp_path / "b", StudyOptions(slug="x", per_session=10, feedback="on"),
                     real=real, generated=generated)
    with pytest.raises(ConfigError, match="in each feedback arm .* at most 2"):  # half a pool each
        create_study(tmp_path / "b", StudyOptions(slug="x", per_session=3, feedback="random"),
                     real=real, generated=generated)
    with pytest.raises(ConfigError, match="attention checks take 2 real"):
        create_study(tmp_path / "b", StudyOptions(slug="x", per_session=1, attention_checks=2),
                     real=ImagePool(real.images[:2]), generated=generated)
    with pytest.raises(UserError, match="uint8"):
        create_study(tmp_path / "c", options, real=ImagePool(np.zeros((4, 8, 8, 3))),
                     generated=generated)
    assert sorted(os.listdir(tmp_path)) == ["full"]


def test_slug_taken_in_a_shared_database(tmp_path, make_study):
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    make_study("one", database_url=url)
    with pytest.raises(ConfigError, match="already holds a study named 'one'"):
        make_study("one", database_url=url, folder="two")
    assert not (tmp_path / "two").exists()
    manifest = json.loads((tmp_path / "one" / "study.json").read_text())
    assert manifest["database"].startswith("external")
    assert not (tmp_path / "one" / "turing.sqlite3").exists()


def test_options_validation():
    for bad in ("", "Upper", "-lead", "a" * 65, "sp ace"):
        with pytest.raises(ConfigError, match="not usable in a URL"):
            StudyOptions(slug=bad)
    for bad in (0, -2, 10_001):
        with pytest.raises(ConfigError, match="per_session must be between 1 and 10000"):
            StudyOptions(slug="ok", per_session=bad)
    assert StudyOptions(slug="ok", per_session=5).per_session == 5  # odd is fine: kinds by coin
    with pytest.raises(ConfigError, match="feedback"):
        StudyOptions(slug="ok", feedback="sometimes")
    assert slug_from_folder("runs/CIFAR top_1%") == "cifar-top-1"
