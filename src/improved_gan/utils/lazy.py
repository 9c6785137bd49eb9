"""A package whose names are imported on first use (PEP 562), so that importing one light submodule of it
(to check a flag) does not import its heavy ones (torch, the web stack; docs/cli.md, Start-up)."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable


def lazy_names(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name of ``homes`` (name -> submodule) from its
    submodule when it is first asked for, and keeps it in the package.

    A name may not be the name of a submodule (a function and a module both called ``f``): once
    anything imports that submodule, Python binds the package's attribute to the module and this function is
    never asked, so the name would silently mean the module. Such a table raises ValueError at once."""
    clashes = sorted(set(homes) & set(homes.values()))
    if clashes:
        raise ValueError(f"{package}: {', '.join(clashes)} both a lazy name and a submodule; import them eagerly")

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
