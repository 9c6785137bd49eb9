"""A stop while the command line is still being read: the stop handlers are on from main()'s first line, so Ctrl-C
or SIGTERM then is the command's one line and exit status, not a KeyboardInterrupt traceback (the third sweep of
issue 26: Ctrl-C in the first 0.3 s printed one, before the handlers were set after parsing)."""

from __future__ import annotations

import signal

import pytest

from improved_gan.cli import main as cli_main
from improved_gan.utils.signals import Terminated


@pytest.mark.parametrize("stop, status, said", [(KeyboardInterrupt(), 130, "interrupted"),
                                                (Terminated(signal.SIGTERM), 143, "terminated (SIGTERM)")])
def test_a_stop_while_the_arguments_are_read_is_one_line(monkeypatch, capsys, stop, status, said):
    def stopped_while_building(command):
        raise stop

    monkeypatch.setattr(cli_main, "build_parser", stopped_while_building)
    assert cli_main.main(["runs", "."]) == status
    err = capsys.readouterr().err
    assert err.startswith(f"{said}: nothing was left half-written") and err.count("\n") == 1, err


def test_the_stop_handlers_are_on_while_the_arguments_are_read(monkeypatch, capsys):
    seen = []

    def look(command):
        seen.append(signal.getsignal(signal.SIGTERM))
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "build_parser", look)
    cli_main.main(["runs", "."])
    assert type(seen[0]).__name__ == "StopHandler"
