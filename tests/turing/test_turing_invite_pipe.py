"""`turing invite` into a pipe whose reader goes away stores no code: the codes are printed before they are stored,
and a closed output is one line, exit status 2, no invitation made. Through the command line, on real pipes.

`invite --n 3000 | head -1` exited 0 with no word, and the 3000 codes were stored though the reader took one
line: seats nobody could hand out, and no command shows them again (the store keeps their hashes); so did
`invite --n 5` into a pipe already closed (the eighth sweep)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from clitools import cli

CLOSED = ("error: the output closed before the {n} invitation codes were all written, so none was stored (no "
          "invitation was made; any code the reader took opens nothing); let the whole list through, or write it "
          "to a file with --out FILE\n")


def invitations(folder) -> int:
    """How many invitations the study holds (said by `invite --n 1`, which adds one)."""
    said = cli("turing", "invite", str(folder), "--n", "1").stderr
    return int(said.rsplit(": ", 1)[1].split()[0]) - 1


def invite(folder, n: int, stdout) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "improved_gan", "turing", "invite", str(folder), "--n", str(n)],
                            stdout=stdout, stderr=subprocess.PIPE, text=True, env=env)


def test_a_pipe_closed_before_the_codes_are_written_stores_none(make_study):
    created = make_study(invitations=0)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before invite writes (`invite --n 5 | true`)
    try:
        process = invite(created.folder, 5, write_end)
    finally:
        os.close(write_end)
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (2, CLOSED.format(n=5))
    assert invitations(created.folder) == 0


def test_a_reader_that_takes_one_line_of_many_leaves_none_stored(make_study):
    created = make_study(invitations=0)
    process = invite(created.folder, 3000, subprocess.PIPE)  # more than a pipe holds: `invite --n 3000 | head -1`
    assert process.stdout.readline() == "label,code,link\n"
    process.stdout.close()
    err = process.stderr.read()
    assert (process.wait(timeout=120), err) == (2, CLOSED.format(n=3000))
    assert invitations(created.folder) == 0


@pytest.mark.parametrize("n", [1, 3000])
def test_a_reader_that_takes_every_line_gets_stored_codes(make_study, n):
    created = make_study(invitations=0)
    result = cli("turing", "invite", str(created.folder), "--n", str(n))
    assert len(result.stdout.splitlines()) == n + 1
    assert result.stderr == f"study {created.slug!r}: {n} invitations, 0 used\n"
