"""Every ```python block of docs/techniques/*.md runs as written; every docstring example too."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest
import torch

DOCS = Path(__file__).resolve().parents[2] / "docs" / "techniques"
PAGES = sorted(DOCS.glob("*.md"))
MODULES = [
    "feature_matching",
    "minibatch_discrimination",
    "historical_averaging",
    "label_smoothing",
    "virtual_batch_normalization",
]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_every_technique_has_a_page_listed_in_the_index():
    names = {page.name for page in PAGES}
    expected = {
        "README.md",
        "feature_matching.md",
        "minibatch_discrimination.md",
        "historical_averaging.md",
        "label_smoothing.md",
        "virtual_batch_norm.md",
    }
    assert expected <= names
    index = (DOCS / "README.md").read_text()
    for name in expected - {"README.md"}:
        assert f"]({name})" in index


@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_page_examples_run(page):
    blocks = PYTHON_BLOCK.findall(page.read_text())
    assert blocks, f"{page.name} has no ```python example"
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for block in blocks:  # blocks of one page share a namespace, in order
        exec(compile(block, str(page), "exec"), namespace)


@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_page_names_its_paper_section(page):
    assert re.search(r"Section 3(\.[1-5])?\b", page.read_text())


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"improved_gan.techniques.{name}")
    result = doctest.testmod(module, extraglobs={"torch": torch, "nn": torch.nn}, verbose=False)
    assert result.attempted > 0 and result.failed == 0
