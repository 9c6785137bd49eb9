"""Entry point of the ``improved-gan`` command.

Subcommands are the modules of :mod:`improved_gan.cli.commands`; each adds its
own parser. A :class:`~improved_gan.errors.UserError` raised anywhere below is
printed as one line (``error: ...``) with exit status 2, never as a traceback;
so is an ``OSError`` (a read-only folder, a full disk), which no command leaves
half-written because every file is written atomically. Ctrl-C and SIGTERM stop
a command the same way (utils/signals.py): one line, exit status 130 or 143.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import pkgutil
import re
import sys
from pathlib import Path
from typing import Sequence

from improved_gan import __version__
from improved_gan.cli import commands
from improved_gan.cli.commands.resume import alias as resume_alias
from improved_gan.errors import UserError
from improved_gan.runs.out_paths import file_in_the_way
from improved_gan.utils.signals import (
    Terminated,
    exit_status,
    on_its_own_line,
    signal_name,
    stderr_lines_watched,
    terminate_as_interrupt,
)


_START_HERE = """start here:
  improved-gan demo                          the paper's claim in a few minutes, offline
  improved-gan train --list                  the presets (the paper's experiments)
  improved-gan train mnist-fm --out runs/a   train one; `improved-gan resume runs/a` continues it
  improved-gan runs                          your runs: running, finished or unfinished
  improved-gan COMMAND --help                each command's options
"""


def command_names() -> list[str]:
    """The commands: one per module of :mod:`improved_gan.cli.commands`, named after it (found without importing)."""
    return sorted([info.name for info in pkgutil.iter_modules(commands.__path__)])


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``command`` alone when it is one of :func:`command_names`: then only
    its module is imported, which keeps the other commands' imports off its start-up path."""
    parser = argparse.ArgumentParser(
        prog="improved-gan",
        description="Improved Techniques for Training GANs (Salimans et al., 2016): "
        "train the paper's experiments, score samples, run the human study.",
        epilog=_START_HERE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = command_names()
    for name in [command] if command in names else names:
        importlib.import_module(f"{commands.__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command of ``argv``, or of the process's own command line (``sys.argv``: the console script and
    ``python -m improved_gan``, whose process then ends by a stop signal that arrives after the command, as it
    exits: utils/signals.py); its exit status."""
    with stderr_lines_watched():  # a stop's line starts a line of its own, though it cut a print in two
        return _command(argv)


def _command(argv: Sequence[str] | None) -> int:
    args = alias_note = None
    try:  # SIGTERM and SIGHUP (kill, a scheduler, a closed terminal) as Ctrl-C, from the first line
        with terminate_as_interrupt(then_default=argv is None):
            argv, alias_note = resume_alias(list(sys.argv[1:] if argv is None else argv))
            parser = build_parser(argv[0] if argv else None)
            args, extras = parser.parse_known_args(argv)
            if extras:  # argparse refuses them; a command may say what to do instead (``explain_flags``)
                explain = getattr(args, "explain_flags", None)
                message = explain(args, extras) if explain is not None else None
                if message is None:
                    parser.error(f"unrecognized arguments: {' '.join(extras)}")
                print(f"error: {message}", file=sys.stderr)
                return 2
            status = args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # read-only folders, a full disk, a folder where a file was expected, ...
        print(f"error: {_os_error_message(err)}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as err:
        message = _memory_error_message(err)
        if message is None:  # a bug: the traceback is what a report needs
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # a command that trains says how to continue (continue_hint); others kept nothing
        hint = getattr(args, "continue_hint", None)
        said = (f"interrupted: the last checkpoint is kept; {hint}" if hint else
                "interrupted: nothing was left half-written (files are written atomically); run the command again")
        said = getattr(args, "interrupt_message", None) or said
        if isinstance(stop, Terminated):  # SIGTERM or SIGHUP
            said = f"terminated ({signal_name(stop)})" + said.removeprefix("interrupted")
        sys.stderr.write(on_its_own_line("\n".join(filter(None, (alias_note, said))) + "\n"))  # one write
        return exit_status(stop)
    if alias_note:  # after the command, not before a refusal: a refusal is one line
        print(alias_note, file=sys.stderr)
    return int(status or 0)


def _os_error_message(err: OSError) -> str:
    """One line for a file-system error; a file standing where a folder must be is named as such."""
    if err.filename and err.errno in (errno.ENOTDIR, errno.EEXIST):
        path = Path(err.filename)
        blocker = path if path.exists() and not path.is_dir() and err.errno == errno.EEXIST else file_in_the_way(path)
        if blocker is not None:
            return (f"{blocker} is a file where a folder is needed (for {path}); choose another path "
                    "(nothing was left half-written: files are written atomically)")
    where = f": {err.filename}" if err.filename else ""
    return f"{err.strerror or err}{where} (nothing was left half-written: files are written atomically)"


def _memory_error_message(err: BaseException) -> str | None:
    """One line for an allocation this machine cannot make (a size asked for is too large); None for another error."""
    text = str(err)
    if not (isinstance(err, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower()):
        return None
    size = re.search(r"tried to allocate (\d+) bytes", text)
    if size:
        amount = f" ({int(size.group(1)) / 2**30:,.1f} GiB asked for)"
    else:
        amount = re.search(r"Unable to allocate ([\d.]+ \w+)", text)
        amount = f" ({amount.group(1)} asked for)" if amount else ""
    return (f"out of memory{amount}: a size given (a width, a batch, a number of images or steps) needs more "
            "memory than this machine has; choose a smaller one (files are written atomically: nothing was left "
            "half-written)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
