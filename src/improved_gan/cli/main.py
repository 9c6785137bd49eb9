"""Entry point of the ``improved-gan`` command.

Subcommands are the modules of :mod:`improved_gan.cli.commands`; each adds its
own parser. A :class:`~improved_gan.errors.UserError` raised anywhere below is
printed as one line (``error: ...``) with exit status 2, never as a traceback;
so is an ``OSError`` (a read-only folder, a full disk), which no command leaves
half-written because every file is written atomically.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

from improved_gan import __version__
from improved_gan.cli import commands
from improved_gan.errors import UserError


_START_HERE = """start here:
  improved-gan demo                          the paper's claim in a few minutes, offline
  improved-gan train --list                  the presets (the paper's experiments)
  improved-gan train mnist-fm --out runs/a   train one; `--resume runs/a` continues it
  improved-gan runs                          your runs: running, finished or unfinished
  improved-gan COMMAND --help                each command's options
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="improved-gan",
        description="Improved Techniques for Training GANs (Salimans et al., 2016): "
        "train the paper's experiments, score samples, run the human study.",
        epilog=_START_HERE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # read-only folders, a full disk, a folder where a file was expected, ...
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {err.strerror or err}{where} (nothing was left half-written: files are written atomically)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = getattr(args, "continue_hint", "continue with --resume")
        print(f"interrupted: the last checkpoint is kept; {hint}", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
