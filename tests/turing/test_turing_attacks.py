"""Issue 28's attacks, each as a scripted annotator through the real server (the ASGI app).

Each script reads only what an annotator's browser receives, and each was run
against the code before the fix (the numbers in docs/turing.md, "Attacks"):

* the collusion list: annotators of the feedback arm write down each image's
  name and kind from their feedback pages; later annotators answer from the
  shared list (a coin for names not on it). Both pools are the same kind of
  noise, so an honest annotator is at chance.
* the forged timing: in a HYPE-time study a client fetches the image, judges
  it by its pixels (as a person could at leisure), and votes at once with a
  claimed display time equal to the requested exposure, or with none.
* the constant clicker: always "Generated", always "Real", or "Generated" for
  flat images and "Real" for every other.
* the staircase reader: in HYPE-time without feedback, an annotator reads
  whether their last answer was right off the next trial's exposure (it rose:
  wrong).

Each attack prints what it measured (``pytest -s`` shows it).
"""

from __future__ import annotations

import io
import random
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.create import ImagePool, PoolWarning, create_study
from improved_gan.turing.database import default_url
from improved_gan.turing.stats import summarize_study
from improved_gan.turing.store import Store

from turing.study_data import invite, study_pools

_VERDICT = re.compile(r"This image is <strong>(generated|real)</strong>")
_FEEDBACK_IMAGE = re.compile(r'/img/([0-9a-f]{32})\.png"')
_EXPOSURE = re.compile(r'data-exposure-ms="(\d+)"')


class FakeClock:
    """The server's clock in these tests (seconds): a script 'waits' by moving it on."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def use_clock(client) -> FakeClock:
    clock = FakeClock()
    client.app.state.clock = clock
    return clock


def make(tmp_path, slug, real, generated, *, invitations, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PoolWarning)
        created = create_study(tmp_path / slug, StudyOptions(slug=slug, **options),
                               real=real, generated=generated)
    return created, invite(created, invitations)


def results_of(created):
    store = Store.open(default_url(created.folder))
    try:
        return summarize_study(store, store.study(created.slug))
    finally:
        store.close()


def pixels(client, url: str) -> np.ndarray | None:
    response = client.get(url)
    if response.status_code != 200:
        return None
    return np.asarray(Image.open(io.BytesIO(response.content)), dtype=np.float64)


def looks_generated(image: np.ndarray) -> bool:
    """The study_pools' generated images are smooth ramps, the real ones noise: a machine tells them
    apart at once, as a person can who studies an image at leisure."""
    return float(np.abs(np.diff(image, axis=1)).mean()) < 40.0


def image_url(html: str) -> str:
    return re.search(r'src="([^"]+/img/[0-9a-f]{32}\.png)"', html).group(1)


# -- 1. the collusion list ----------------------------------------------------------------


def test_a_shared_list_of_names_and_kinds_is_worthless(tmp_path, client_for):
    noise = lambda seed: np.random.default_rng(seed).integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    created, codes = make(tmp_path, "both-real", ImagePool(noise(1), source="a"),
                          ImagePool(noise(2), source="b"), invitations=24, per_session=10,
                          feedback="random")
    client = client_for(created)
    coin = random.Random(0)
    shared: dict[str, bool] = {}  # image name -> is generated, as the feedback pages showed it
    for code in codes[:12]:  # the harvesters
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(code)
        while (trial := annotator.current()) is not None:
            location = annotator.vote(trial, "real" if coin.random() < 0.5 else "generated")
            location = location.headers["location"]
            if "/feedback/" in location:
                page = client.get(location).text
                shared[_FEEDBACK_IMAGE.search(page).group(1)] = (
                    _VERDICT.search(page).group(1) == "generated")
    looked_up = 0
    for code in codes[12:]:  # the colluders: the list where it has the name, else a coin
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(code)
        while (trial := annotator.current()) is not None:
            known = shared.get(trial.image_name)
            looked_up += known is not None
            said = known if known is not None else coin.random() < 0.5
            annotator.vote(trial, "generated" if said else "real")
    right = {True: [0, 0], False: [0, 0]}  # arm -> [right, votes] of the list's users
    store = Store.open(default_url(created.folder))
    for v in store.votes(store.study(created.slug).id):
        if v.session_id > 12:  # sessions are numbered in the order they opened
            right[v.feedback][0] += v.correct
            right[v.feedback][1] += 1
    store.close()
    total = right[True][0] + right[False][0], right[True][1] + right[False][1]
    print(f"\ncollusion list: {len(shared)} names learned; list users right {total[0]}/{total[1]} "
          f"({100 * total[0] / total[1]:.1f}%), names found on the list {looked_up}; "
          f"without feedback {right[False][0]}/{right[False][1]}")
    assert looked_up == 0  # a name means nothing outside its session
    assert total[1] == 120 and 0.35 <= total[0] / total[1] <= 0.65  # chance
    flags = results_of(created).collusion
    assert flags.pairs_flagged == []  # independent coins are not flagged


# -- 2. the forged timing -----------------------------------------------------------------


def forged_session(client, slug, code, clock, *, claim: str | None, wait_s: float = 0.0,
                   refetch: bool = False, after_exposure: bool = False):
    """A client that ignores the mask: fetches the image, judges it by its pixels, votes
    ``wait_s`` later (``after_exposure``: that long after the requested exposure)."""
    annotator = ScriptedAnnotator(client, slug)
    annotator.start(code)
    exposures, refused = [], 0
    while (trial := annotator.current()) is not None:
        requested = int(_EXPOSURE.search(trial.html).group(1))
        exposures.append(requested)
        image = pixels(client, image_url(trial.html))
        if refetch:  # the image URL opened again, e.g. in another tab, to study it
            refused += pixels(client, image_url(trial.html)) is None
        clock.now += wait_s + (requested / 1000 if after_exposure else 0.0)
        said = "generated" if image is not None and looks_generated(image) else "real"
        data = {"csrf": trial.csrf, "position": str(trial.position), "answer": said}
        if claim is not None:
            data["displayed_ms"] = str(requested) if claim == "requested" else claim
        assert client.post(f"/s/{slug}/vote", data=data).status_code == 303
    return exposures, refused


def test_forged_display_times_are_excluded_and_counted(tmp_path, client_for):
    real, generated = study_pools(40)
    created, codes = make(tmp_path, "forged", real, generated, invitations=5, per_session=30,
                          feedback="off", hype_time=True)
    client = client_for(created)
    clock = use_clock(client)
    exposures, _ = forged_session(client, created.slug, codes[0], clock, claim="requested")
    client.cookies.clear()
    forged_session(client, created.slug, codes[1], clock, claim=None)
    client.cookies.clear()
    forged_session(client, created.slug, codes[2], clock, claim="0")
    client.cookies.clear()
    _, refused = forged_session(client, created.slug, codes[3], clock, claim="requested",
                                wait_s=0.9, refetch=True)
    client.cookies.clear()  # what the server cannot see: a client that waits as a person would
    patient, _ = forged_session(client, created.slug, codes[4], clock, claim="requested",
                                wait_s=0.2, after_exposure=True)
    results = results_of(created)
    h = results.hype_time
    print(f"\ndetermined client (waits 200 ms after the exposure): exposures {patient[:3]}...{patient[-3:]}, "
          f"counted {results.votes}, accuracy {results.groups['all'].accuracy.estimate}, score {h.score_ms}, "
          f"median response {h.per_annotator_response_ms}")
    print(f"\nforged timing: exposures of the instant forger {exposures[:3]}...{exposures[-3:]}; "
          f"score {h.score_ms}; accuracy {results.groups['all'].accuracy.estimate}; "
          f"excluded {getattr(h, 'excluded', None)}; second fetches refused {refused}/30")
    assert h.excluded == {"voted before the exposure and a reaction could have passed": 30,
                          "no display time": 30, "display time inconsistent with the request": 30,
                          "image fetched more than once": 30}
    assert refused == 30
    # Nothing of theirs is counted but the determined client's, whose every answer after the
    # mask came 200 ms after it: the results show that next to its modal exposure.
    assert results.votes == 30 and h.trials == 30 and len(results.annotators) == 1
    [(sid, response_ms)] = h.per_annotator_response_ms.items()
    assert response_ms == pytest.approx(200.0) and results.groups["all"].accuracy.estimate == 1.0
    assert min(patient) < 500  # its exposures fall as a perfect observer's do


# -- 3. the constant clicker ---------------------------------------------------------------


def test_constant_clickers_fail_the_attention_checks(tmp_path, client_for):
    real, generated = study_pools(40)
    created, codes = make(tmp_path, "checks", real, generated, invitations=3, per_session=10,
                          feedback="off", attention_checks=6, attention_max_failures=1)
    client = client_for(created)
    strategies = {
        "always generated": lambda image: "generated",
        "always real": lambda image: "real",
        "flat images generated, the rest real": lambda image: (
            "generated" if image is not None and float(image.std()) == 0.0 else "real"),
    }
    for code, strategy in zip(codes, strategies.values()):
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(code)
        while (trial := annotator.current()) is not None:
            annotator.vote(trial, strategy(pixels(client, image_url(trial.html))))
    attention = results_of(created).attention
    print(f"\nconstant clickers: {attention.excluded} of 3 excluded: {attention.failures}")
    assert attention.excluded == 3


# -- 4. the staircase reader ------------------------------------------------------------------


def test_the_exposure_does_not_tell_a_reader_whether_the_last_answer_was_right(
        tmp_path, client_for):
    real, generated = study_pools(70)
    created, codes = make(tmp_path, "reader", real, generated, invitations=4, per_session=60,
                          feedback="off", hype_time=True)
    client = client_for(created)
    clock = use_clock(client)
    rng = random.Random(4)
    guessed = base = cases = 0
    up_after = {True: [0, 0], False: [0, 0]}  # last answer right? -> [exposure rose, cases]
    for code in codes:
        client.cookies.clear()
        annotator = ScriptedAnnotator(client, created.slug)
        annotator.start(code)
        last = None  # (exposure, was right)
        while (trial := annotator.current()) is not None:
            requested = int(_EXPOSURE.search(trial.html).group(1))
            if last is not None:
                rose = requested > last[0]
                guessed += (not rose) == last[1]  # the reader: "it rose, so I was wrong"
                base += last[1]  # always guessing "right"
                up_after[last[1]][0] += rose
                up_after[last[1]][1] += 1
                cases += 1
            image = pixels(client, image_url(trial.html))
            truth = looks_generated(image)
            said = truth if rng.random() < 0.8 else not truth  # right 80% of the time
            clock.now += requested / 1000 + 0.6
            client.post(f"/s/{created.slug}/vote", data={
                "csrf": trial.csrf, "position": str(trial.position),
                "answer": "generated" if said else "real", "displayed_ms": str(requested)})
            last = (requested, said == truth)
    p_up_wrong = up_after[False][0] / up_after[False][1]
    p_up_right = up_after[True][0] / up_after[True][1]
    rose = up_after[False][0] + up_after[True][0]
    wrong_if_rose = up_after[False][0] / rose
    print(f"\nstaircase reader: read right {guessed}/{cases} ({100 * guessed / cases:.1f}%); "
          f"always guessing 'right' {base}/{cases} ({100 * base / cases:.1f}%); "
          f"P(rose | wrong) = {p_up_wrong:.2f}, P(rose | right) = {p_up_right:.2f}; "
          f"after a rise the last answer was wrong {up_after[False][0]}/{rose} ({100 * wrong_if_rose:.0f}%)")
    # Reading the exposure does no better than ignoring it, up to the documented residual leak and chance. The
    # reader's gain over "always right" is #(rose and wrong) - #(rose and right): about +1.7% of the cases on
    # average (P(rose | wrong) about 0.7, P(rose | right) about 0.2, 25% wrong; docs/turing.md), with a sampling
    # SD of about 3.75% at these 236 cases (each case adds +1, -1 or 0: variance about 0.33). The server draws
    # its sequences and keys from the system's randomness, so the draw differs run to run: the bound is the mean
    # plus 3.3 SD (a false alarm about 1 run in 2,000). Before the staircases were interleaved the reader read
    # every answer (236 of 236, a gain of 25%), far above it. (The earlier bound, 4%, failed about 1 run in 4.)
    assert guessed <= base + 0.14 * cases
    assert wrong_if_rose < 0.75  # a rise no longer means "wrong" (before: every time)
