"""The parser (cli/main.py): every command is a module of cli/commands named after it, and ``improved-gan CMD``
builds (and imports) the parser of CMD alone, the same parser as in the whole tree."""

from __future__ import annotations

import argparse

import pytest

from improved_gan.cli.main import build_parser, command_names


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def test_the_commands_are_the_modules():
    assert command_names() == sorted(_commands(build_parser()))
    assert {"train", "resume", "runs", "demo", "turing", "score"} <= set(command_names())


@pytest.mark.parametrize("name", command_names())
def test_a_command_alone_has_the_parser_it_has_among_all(name):
    alone = _commands(build_parser(name))
    assert list(alone) == [name]
    assert alone[name].format_help() == _commands(build_parser())[name].format_help()


@pytest.mark.parametrize("argv", [[], ["--version"], ["tarin"], ["--help"]])
def test_no_command_builds_them_all(argv):
    first = argv[0] if argv else None
    assert sorted(_commands(build_parser(first))) == command_names()
