"""Screenshots of the human-study pages for docs/turing.md, taken in headless Chromium.

Builds a study from real images and a generator's samples, lets simulated
annotators vote (so the results page has something to show; their accuracy is
a model, stated below, not people's), then photographs the annotator's trial
and feedback pages (desktop and phone) and the owner's results page.

    python benchmarks/turing_screenshots.py --real mnist:test --data-dir ../shared/data \\
        --generated runs/speed/ref-fp32-s0 --out docs/img/turing

Simulated annotators: 30 (one invitation each), 20 images each, half in each
feedback arm; without
feedback they are right with probability 0.6, with feedback 0.55 rising
linearly to 0.85 over the session.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import httpx

from improved_gan.turing import security
from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.create import create_study
from improved_gan.turing.database import default_url
from improved_gan.turing.server import BackgroundServer
from improved_gan.turing.sources import load_pool
from improved_gan.turing.store import Store

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def simulate(url: str, store: Store, codes: list[str], *, per_session: int, seed: int) -> None:
    """Annotators who are right with the probabilities of the module docstring, one per code."""
    from sqlalchemy import select

    from improved_gan.turing import schema

    study = store.study("mnist")
    rng = random.Random(seed)
    for code in codes:
        with httpx.Client(base_url=url) as client:
            annotator = ScriptedAnnotator(client, "mnist")
            annotator.start(code)
            token_hash = security.hash_token(annotator.token)
            session = store.session(study.id, token_hash)
            feedback = session.feedback
            # each session sees an image under its own token: the truth is looked up through the session
            T, I = schema.trials, schema.images
            with store.engine.connect() as conn:
                rows = conn.execute(select(T.c.position, I.c.is_generated).join(I, I.c.id == T.c.image_id)
                                    .where(T.c.session_id == session.id)).all()
            kinds = {security.image_token(study.csrf_key, token_hash, position): g for position, g in rows}
            while (trial := annotator.current()) is not None:
                progress = trial.position / (per_session - 1)
                p_right = 0.55 + 0.3 * progress if feedback else 0.6
                said_generated = kinds[trial.image_name] == (rng.random() < p_right)
                annotator.vote(trial, "generated" if said_generated else "real")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", default="mnist:test")
    parser.add_argument("--generated", required=True, help="run folder, image folder or .npz")
    parser.add_argument("--data-dir")
    parser.add_argument("--out", type=Path, default=Path("docs/img/turing"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        real = load_pool(args.real, n=200, data_dir=args.data_dir)
        generated = load_pool(args.generated, n=200, data_dir=args.data_dir)
        options = StudyOptions(slug="mnist", title="Real or generated? (MNIST digits)",
                               per_session=20, feedback="random")
        created = create_study(Path(root) / "mnist", options, real=real, generated=generated)
        store = Store.open(default_url(created.folder))
        server = BackgroundServer([created.folder]).start()
        try:
            codes = store.add_invitations(store.study("mnist"), [None] * 30)
            simulate(server.url, store, codes, per_session=20, seed=0)
            visitors = store.add_invitations(store.study("mnist"), [None] * 12)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                shoot(browser, server.url, created.owner_token, visitors, args.out)
                browser.close()
        finally:
            server.stop()
            store.close()
    return 0


def shoot(browser, url: str, owner_token: str, codes: list[str], out: Path) -> None:
    owner = browser.new_page(viewport={"width": 1280, "height": 900})
    owner.goto(f"{url}/s/mnist/owner")
    owner.fill("#token", owner_token)
    owner.click("#login")
    owner.wait_for_selector("#groups")
    owner.wait_for_load_state("load")
    owner.screenshot(path=out / "results.png", full_page=True)
    desktop = {"viewport": {"width": 900, "height": 720}}
    page = browser.new_page(**desktop)
    page.goto(f"{url}/s/mnist/?code={codes.pop()}")
    page.screenshot(path=out / "start.png")
    page.click("#start")
    page.wait_for_selector(".trial")
    page.screenshot(path=out / "annotator.png")
    page.close()
    for _ in range(10):  # invitations are in either arm: find one with feedback
        page = browser.new_page(**desktop)
        page.goto(f"{url}/s/mnist/?code={codes.pop()}")
        page.click("#start")
        page.wait_for_selector(".trial")
        with page.expect_navigation():
            page.click("#real")
        has_feedback = page.locator("#verdict").count() > 0
        if has_feedback:
            page.screenshot(path=out / "feedback.png")
        page.close()
        if has_feedback:
            break
    phone = browser.new_page(viewport={"width": 375, "height": 667}, is_mobile=True,
                             has_touch=True, device_scale_factor=2)
    phone.goto(f"{url}/s/mnist/?code={codes.pop()}")
    phone.tap("#start")
    phone.wait_for_selector(".trial")
    phone.screenshot(path=out / "annotator-phone.png")


if __name__ == "__main__":
    raise SystemExit(main())
