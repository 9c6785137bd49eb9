"""No user file is replaced (issue 17, second round): every command that writes a file the user names
(``sample --out``, ``report --out``, ``games --out``, ``reproduce``/``ablate --out``, ``classifier train --out``,
``turing results --json/--votes-csv/--images-csv``, ``turing invite --out``) checks it before any work, and
replaces only a file it wrote itself (or, for ``sample``, with ``--overwrite``). Each case here overwrote a
user's file with exit status 0, or failed only after the work was done, before.

In-process (``main([...])``) with hand-made run folders, .npz files and small studies; nothing trains.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import fake_run, files, one_line_error

from improved_gan.cli.main import main


# -- sample ---------------------------------------------------------------------------------------

# -- report ---------------------------------------------------------------------------------------

# -- games ----------------------------------------------------------------------------------------

# -- reproduce, ablate, classifier ----------------------------------------------------------------

# -- turing ---------------------------------------------------------------------------------------

@pytest.fixture
def study(tmp_path, capsys) -> Path:
    rng = np.random.default_rng(0)
    for name in ("real", "gen"):
        np.savez(tmp_path / f"{name}.npz", x=rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8))
    folder = tmp_path / "study"
    assert main(["turing", "create", "--real", str(tmp_path / "real.npz"), "--generated", str(tmp_path / "gen.npz"),
                 "--per-session", "10", "--attention-checks", "1", "--tutorial", "2", "--no-progress",
                 "--allow-recurring-images", str(folder)]) == 0  # a small pool: the test is about the exports
    capsys.readouterr()
    return folder


def _invitations(study: Path) -> int:
    from improved_gan.turing.served import ServedStudy

    served = ServedStudy.open(study)
    try:
        return served.store.invitation_counts(served.study.id)[0]
    finally:
        served.store.close()


@pytest.mark.parametrize(
    "argv, says",
    [(["--n", "100001"], "--n must be between 1 and 100,000"),  # --n 100000000 grew to 24 GB and was OOM-killed
     (["--labels", "{tmp}/labels.bin"], "is not a UTF-8 text file"),  # a UnicodeDecodeError traceback
     (["--labels", "{tmp}/empty.txt"], "holds no labels"),  # "the database failed: NOT NULL constraint"
     (["--n", "2", "--out", "{tmp}/notes.txt/codes.csv"], "notes.txt is a file")],  # codes made, then lost
)
def test_turing_invite_refuses_before_any_code_is_made(argv, says, study, tmp_path, capsys):
    (tmp_path / "labels.bin").write_bytes(b"\xff\xfe\x00abc")
    (tmp_path / "empty.txt").write_text("\n\n")
    (tmp_path / "notes.txt").write_text("x")
    one_line_error(capsys, ["turing", "invite", str(study), *[a.format(tmp=tmp_path) for a in argv]], says)
    assert _invitations(study) == 0


@pytest.mark.parametrize("flag", ["--json", "--votes-csv", "--images-csv"])
def test_turing_results_never_replaces_a_users_file(flag, study, tmp_path, capsys):
    (tmp_path / "notes.md").write_text("my notes")
    one_line_error(capsys, ["turing", "results", str(study), flag, str(tmp_path / "notes.md")],
                   "not written by improved-gan")
    assert (tmp_path / "notes.md").read_text() == "my notes"
    # an earlier export of the same kind is replaced (results is run again as votes come in)
    out = tmp_path / "export"
    assert main(["turing", "results", str(study), flag, str(out)]) == 0
    assert main(["turing", "results", str(study), flag, str(out)]) == 0
