"""``improved-gan turing create|results|token`` in process, on .npz sources."""

from __future__ import annotations

import json

import numpy as np
import pytest

from improved_gan.cli.main import main

from turing.study_data import study_pools


@pytest.fixture
def sources(tmp_path):
    real, generated = study_pools(20)
    np.savez(tmp_path / "real.npz", x=real.images)
    np.savez(tmp_path / "generated.npz", x=generated.images)
    np.save(tmp_path / "scores.npy", np.arange(20.0))  # image i scores i
    return tmp_path


def create(sources, *extra: str, study: str = "study") -> int:
    return main(["turing", "create", str(sources / study), "--real", str(sources / "real.npz"),
                 "--generated", str(sources / "generated.npz"), *extra])


def test_create_top_fraction_results_and_token(sources, capsys):
    status = create(sources, "--generated-scores", str(sources / "scores.npy"),
                    "--generated-top", "0.25", "--per-session", "4", "--feedback", "off", "--tutorial", "2",
                    "--slug", "cli-study")
    out = capsys.readouterr().out
    assert status == 0
    assert "20 real and 5 generated images" in out
    token = out.split("keep it secret): ")[1].split()[0]
    manifest = json.loads((sources / "study" / "study.json").read_text())
    assert manifest["generated"]["top_fraction"] == 0.25
    assert manifest["options"] == {"slug": "cli-study", "title": "Real or generated?",
                                   "per_session": 4, "feedback": "off", "attention_checks": 6,
                                   "attention_max_failures": 1, "tutorial": 2,
                                   "hype_time": False}

    assert main(["turing", "results", str(sources / "study"), "--json", str(sources / "r.json"),
                 "--votes-csv", str(sources / "v.csv"), "--images-csv", str(sources / "i.csv")]) == 0
    out = capsys.readouterr().out
    assert "0 votes from 0 annotators" in out
    data = json.loads((sources / "r.json").read_text())
    kept = sorted(im["origin"] for im in data["images"] if im["kind"] == "generated")
    # the top quarter is images 15-19; one of them became a practice image (--tutorial 2)
    assert len(kept) == 4
    assert set(kept) < {f"{sources / 'generated.npz'}[{i}]" for i in range(15, 20)}
    assert {im["score"] for im in data["images"] if im["kind"] == "generated"} < {15.0, 16.0, 17.0, 18.0, 19.0}
    assert data["study"]["tutorial"] == 2
    assert (sources / "v.csv").read_text().startswith("annotator,")

    assert main(["turing", "token", str(sources / "study")]) == 0
    new_token = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert new_token != token and len(new_token) == 43


def test_user_errors_exit_2(sources, capsys):
    assert create(sources, "--per-session", "0") == 2
    assert "per_session must be between 1" in capsys.readouterr().err
    assert create(sources, "--generated-top", "0.5") == 2
    assert "give both or neither" in capsys.readouterr().err
    assert create(sources, "--per-session", "50") == 2
    # 2 practice images (one of each kind) and 6 checks (real) out of 20 + 20; each arm half of that
    assert "lower per_session to at most 6" in capsys.readouterr().err
    assert create(sources, "--per-session", "5") == 2  # 20 feedback sessions x 5 over 6 images a kind
    assert "would show each image of the feedback arm about 8.3 times" in capsys.readouterr().err
    assert create(sources, "--per-session", "5", "--allow-recurring-images") == 0
    assert "warning: 40 sessions of 5 would show" in capsys.readouterr().err
    assert create(sources, "--per-session", "5", "--sessions", "4") == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["turing", "results", str(sources)]) == 2
    assert "not a study folder" in capsys.readouterr().err
    assert main(["turing", "serve", str(sources), "--port", "1"]) == 2


def test_create_shows_a_progress_bar_on_stderr_unless_no_progress(sources, capsys, monkeypatch):
    """On a terminal (utils/progress.bars_shown: the capture here stands for one); off a terminal no bar is drawn
    (tests/cli/test_progress_off_a_terminal.py)."""
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert create(sources, "--per-session", "4", "--feedback", "off") == 0
    shown = capsys.readouterr()
    # 20 + 20, 6 of the real images made into attention checks
    assert "writing study images" in shown.err and "0/40 " in shown.err
    assert shown.out.startswith("created study 'study' in ")

    assert create(sources, "--per-session", "4", "--feedback", "off", "--no-progress", study="quiet") == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out.startswith("created study 'quiet' in ")
    assert len(list((sources / "quiet" / "images").iterdir())) == 40


def test_create_asks_for_the_sampling_bar_only_with_progress(sources, capsys, monkeypatch):
    import sys

    import improved_gan.turing.sources as turing_sources

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # a terminal (utils/progress.bars_shown)

    asked = []
    real_load_images = turing_sources.load_images

    def load_images(source, **kwargs):
        asked.append(kwargs["progress"])  # the bar of a run's generator, when a source is a run
        return real_load_images(source, **kwargs)

    monkeypatch.setattr(turing_sources, "load_images", load_images)
    assert create(sources, "--per-session", "4", "--feedback", "off") == 0
    assert create(sources, "--per-session", "4", "--feedback", "off", "--no-progress", study="quiet") == 0
    capsys.readouterr()
    assert asked == [True, True, False, False]
