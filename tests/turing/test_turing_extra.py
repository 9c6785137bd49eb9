"""The web app is an extra: without it, `improved-gan turing ...` names the one install command."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from improved_gan.cli.main import main


def test_a_missing_web_extra_is_one_line_naming_the_install(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a))
    status = main(["turing", "results", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip() == (
        "error: the human study needs the web extra (fastapi not installed): pip install 'improved-gan[turing]'"
    )


def test_the_package_and_its_command_line_import_no_web_library():
    code = (
        "import sys, improved_gan, improved_gan.cli.main, improved_gan.training.trainer;"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'sqlalchemy', 'jinja2', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
