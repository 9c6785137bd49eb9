"""Annotators who compare notes: flagged pairs, and create's refusal of recurring feedback images."""

from __future__ import annotations

import numpy as np
import pytest

from improved_gan.cli.main import main
from improved_gan.turing.collusion import FAMILY_ALPHA, poisson_binomial_upper_tail
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.create import recurrence_problem
from improved_gan.turing.export import results_text
from improved_gan.turing.stats import summarize_study

from turing.study_data import simulate, stored_study, study_pools


def test_poisson_binomial_tail_against_the_binomial_and_enumeration():
    from math import comb
    from itertools import product

    assert poisson_binomial_upper_tail([0.3] * 12, 9) == pytest.approx(
        sum(comb(12, k) * 0.3 ** k * 0.7 ** (12 - k) for k in range(9, 13)))
    p = [0.1, 0.5, 0.8, 0.95]
    exact = sum(np.prod([q if bit else 1 - q for q, bit in zip(p, bits)])
                for bits in product((0, 1), repeat=4) if sum(bits) >= 2)
    assert poisson_binomial_upper_tail(p, 2) == pytest.approx(exact)
    assert poisson_binomial_upper_tail(p, 0) == 1.0


@pytest.fixture
def small_study(tmp_path):
    """40 images a kind, 40 per session: any two annotators share about 20."""
    with stored_study(tmp_path, StudyOptions(slug="c", per_session=40, feedback="off"), 40) as opened:
        yield opened


def test_copying_annotators_are_flagged_honest_ones_are_not(small_study):
    store, study = small_study
    told: dict[str, bool] = {}  # image -> what the first copier said; the others copy it

    def vote(rng, session, trial, kinds, who):
        truth = kinds[trial.image_name]
        if who == "copier":  # at chance, but in step with the others who copy
            said = told.setdefault(trial.image_name, rng.random() < 0.5)
        else:  # honest: right with probability 0.7, alone
            said = truth if rng.random() < 0.7 else not truth
        store.record_vote(session.id, trial.position, said_generated=said)

    who = ["copier", "honest"] * 3 + ["honest"] * 5
    ids = simulate(store, study, who, seed=7, vote=vote)
    c = summarize_study(store, study).collusion
    assert c.pairs_tested >= 45  # of the 55 pairs, those sharing at least 10 images
    flagged = {(p.first, p.second): p for p in c.pairs_flagged}
    copiers = [sid for sid, w in zip(ids, who) if w == "copier"]
    copier_pairs = {(a, b) for i, a in enumerate(copiers) for b in copiers[i + 1:]}
    assert set(flagged) <= copier_pairs and len(flagged) >= 2  # no honest pair
    for p in flagged.values():  # identical answers where ~half were expected
        assert p.agreed == p.shared and p.expected < 0.7 * p.shared
        assert p.p_value < FAMILY_ALPHA / c.pairs_tested
    text = results_text(study, summarize_study(store, study))
    assert f"pairs agreeing more than independent judges could: {len(flagged)} of {c.pairs_tested}" in text
    p = next(iter(flagged.values()))
    assert f"#{p.first} and #{p.second} ({p.agreed} of {p.shared} alike" in text


def test_the_feedback_arm_never_shows_an_image_again_after_its_kind_was_told():
    # issue 28's study: 200 images a kind, 50 per session, both arms, 40 sessions
    options = StudyOptions(slug="s", per_session=50, feedback="random")
    problem = recurrence_problem(options, 200, 200, 40)
    assert "about 5.0 times" in problem and "at least 1000 images of each kind" in problem
    assert recurrence_problem(options, 1000, 1000, 40) is None  # the docs' quick start: once each
    assert recurrence_problem(StudyOptions(slug="s", per_session=50, feedback="off"), 200, 200, 40) is None
    on = StudyOptions(slug="s", per_session=50, feedback="on", tutorial=4, attention_checks=6)
    assert recurrence_problem(on, 1010, 1002, 40) is None  # 1000 left a kind
    assert "about 1.0 times" in recurrence_problem(on, 1010, 1001, 40)  # 999 generated left


def test_create_refuses_recurring_feedback_images_unless_allowed(tmp_path, capsys):
    real, generated = study_pools(60)
    np.savez(tmp_path / "real.npz", x=real.images)
    np.savez(tmp_path / "generated.npz", x=generated.images)
    argv = ["turing", "create", str(tmp_path / "s"), "--real", str(tmp_path / "real.npz"),
            "--generated", str(tmp_path / "generated.npz"), "--per-session", "10", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 40 sessions of 10 would show each image of the feedback arm") \
        and "--allow-recurring-images" in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()
    assert main([*argv, "--sessions", "10"]) == 0  # 5 feedback sessions x 5 of a kind <= 25
    capsys.readouterr()
    assert main([*argv[:2], str(tmp_path / "t"), *argv[3:], "--allow-recurring-images"]) == 0
    assert "warning: 40 sessions of 10 would show" in capsys.readouterr().err
