"""utils/lazy.lazy_names: a package's names imported on first use, and a table that would misname refused."""

from __future__ import annotations

import sys

import pytest

from improved_gan.utils.lazy import lazy_names


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``lazypkg`` whose ``heavy`` submodule records that it was imported."""
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "from improved_gan.utils.lazy import lazy_names\n"
        "__getattr__ = lazy_names(__name__, {'answer': 'heavy', 'Light': 'light'})\n")
    (root / "heavy.py").write_text("import sys\nsys.modules[__name__].imported = True\nanswer = 42\n")
    (root / "light.py").write_text("class Light:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def test_a_name_is_imported_when_first_asked_for_and_not_before(package):
    import lazypkg
    import lazypkg.light  # a light submodule, as a command's flag check imports one

    assert "lazypkg.heavy" not in sys.modules
    from lazypkg import answer

    assert answer == 42 and "lazypkg.heavy" in sys.modules and lazypkg.answer == 42


def test_an_unknown_name_is_an_attribute_error(package):
    import lazypkg

    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        lazypkg.nothing


def test_a_name_that_is_also_a_submodule_is_refused():
    """``inception_score`` the function and the module: after any import of the module the name would be it."""
    with pytest.raises(ValueError, match="inception_score both a lazy name and a submodule"):
        lazy_names("improved_gan.metrics", {"inception_score": "inception_score"})


@pytest.mark.parametrize("name", ["improved_gan.games", "improved_gan.metrics", "improved_gan.turing"])
def test_each_lazy_package_exports_every_name_from_its_home(name):
    """``__all__`` holds the table's names (and names the package defines itself), and each lazy name is its home
    module's object (``metrics.inception_score`` the function, also once its module, ``metrics.inception_formula``,
    has been imported)."""
    import importlib

    package = importlib.import_module(name)
    if name.endswith("metrics"):
        importlib.import_module(f"{name}.{package._HOMES['inception_score']}")
    assert set(package._HOMES) <= set(package.__all__)
    assert all(own in vars(package) for own in set(package.__all__) - set(package._HOMES))
    for exported in package._HOMES:
        home = importlib.import_module(f"{name}.{package._HOMES[exported]}")
        assert getattr(package, exported) is getattr(home, exported), exported
    if name.endswith("metrics"):
        assert callable(package.inception_score) and not hasattr(package.inception_score, "__path__")
