"""The server's side of HYPE-time and of invitations: timing checks, interleaved staircases,
throttled codes, codes kept out of logs, p-values as people read them."""

from __future__ import annotations

import logging
import math

import pytest

from improved_gan.turing import timing
from improved_gan.turing.formatting import format_p_value
from improved_gan.turing.hype_time import (
    STAIRCASES,
    interleaved_exposure,
    next_exposure,
    session_exposure,
    staircase_of,
)
from improved_gan.turing.intervals import binomial_two_sided_p, json_p_value
from improved_gan.turing.invitations import RedactCodes, invitation_link, redact_codes
from improved_gan.turing.security import new_key
from improved_gan.turing.throttle import CodeThrottle


@pytest.mark.parametrize("displayed, served_at, fetches, voted_at, problem", [
    (300.0, 10.0, 1, 10.0 + 0.3 + 0.2, None),  # shown, masked, answered 200 ms later
    (310.0, 10.0, 1, 10.0 + 0.3 + 12.0, None),  # a slow answer is still an answer
    (300.0, None, 0, 11.0, timing.NEVER_FETCHED),
    (300.0, 10.0, 2, 11.0, timing.FETCHED_TWICE),
    (None, 10.0, 1, 11.0, timing.NO_DISPLAY_TIME),
    (0.0, 10.0, 1, 11.0, timing.INCONSISTENT),
    (60_000.0, 10.0, 1, 11.0, timing.INCONSISTENT),
    (300.0, 10.0, 1, 10.0 + 0.3 + 0.1, timing.TOO_FAST),  # 100 ms after the mask: no person
    (300.0, 10.0, 1, 10.0, timing.TOO_FAST),  # the forged client's instant vote
    (300.0, 10.0, 1, 10.0 + 0.3 + 16.0, timing.TOO_SLOW),
])
def test_timing_problems(displayed, served_at, fetches, voted_at, problem):
    assert timing.timing_problem(300, displayed, served_at, fetches, voted_at) == problem


def test_displayed_times_are_parsed_as_finite_numbers():
    assert timing.parse_displayed("501.7") == 501.7
    assert [timing.parse_displayed(v) for v in ("", "x", "nan", "inf")] == [None] * 4


def test_staircases_are_interleaved_by_a_secret_coin():
    key = new_key()
    coins = [staircase_of(key, 1, p) for p in range(400)]
    assert set(coins) == set(range(STAIRCASES)) and 150 < coins.count(0) < 250
    assert coins != [staircase_of(key, 2, p) for p in range(400)]  # each session its own
    assert coins != [staircase_of(new_key(), 1, p) for p in range(400)]  # unknown without the key
    # each staircase follows 3-down/1-up over its own trials only
    history = [True, False, True, True, True, False, True, True]
    assign = lambda p: [0, 1, 0, 0, 1, 0, 1, 1, 0][p]
    assert interleaved_exposure(history, assign) == next_exposure([True, True, True, False])  # 0
    assert interleaved_exposure(history[:7], assign) == next_exposure([False, True, True])  # 1
    assert session_exposure(key, 1, []) == 500


def test_wrong_codes_are_throttled_per_client():
    throttle = CodeThrottle(max_failures=5, window_s=60)
    for _ in range(5):
        assert throttle.wait_s("a", 0.0) == 0.0
        throttle.failed("a", 0.0)
    assert throttle.wait_s("a", 1.0) == 59.0 and throttle.wait_s("b", 1.0) == 0.0
    assert throttle.wait_s("a", 60.0) == 0.0  # the window is over
    throttle.failed("a", 60.0)
    assert throttle.wait_s("a", 61.0) == 0.0  # a new window: one failure so far


def test_invitation_links_keep_the_code_out_of_requests_and_logs():
    code = "A" * 43
    assert invitation_link("https://x.org/", "demo", code) == f"https://x.org/s/demo/#code={code}"
    assert redact_codes(f"/s/demo/?code={code}&x=1") == "/s/demo/?code=REDACTED&x=1"
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("1.2.3.4:5", "GET", f"/s/demo/?code={code}", "1.1", 200), None)
    assert RedactCodes().filter(record) and code not in record.getMessage()


def test_an_old_link_with_the_code_in_the_query_is_redacted_in_the_access_log(make_study, live_server):
    import httpx

    class Lines(logging.Handler):
        def __init__(self):
            super().__init__()
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    created = make_study()
    server = live_server(created)
    code = created.code()
    access, lines = logging.getLogger("uvicorn.access"), Lines()
    level = access.level
    access.setLevel(logging.INFO)
    access.addHandler(lines)  # uvicorn's access logger does not propagate to the root
    try:
        assert httpx.get(f"{server.url}/s/demo/?code={code}").status_code == 200
    finally:
        access.removeHandler(lines)
        access.setLevel(level)
    assert lines.lines and not any(code in line for line in lines.lines)
    assert any("code=REDACTED" in line for line in lines.lines)


def test_p_values_below_1e4_are_in_scientific_notation():
    assert format_p_value(0.031) == "0.031" and format_p_value(0.00012) == "0.00012"
    p = binomial_two_sided_p(681, 700)
    assert 0 < p < 1e-100 and format_p_value(p).endswith(f"e{math.floor(math.log10(p))}")
    assert format_p_value(1.66e-61) == "1.7e-61" and json_p_value(1.66e-61) == 1.66e-61
    assert format_p_value(float("nan")) == "–" and format_p_value(0.0) == "< 1e-300"
    # computed in logs: the exact tail of 2000 of 2000, 2 * 2^-2000, is below a double
    assert binomial_two_sided_p(2000, 2000) == 0.0 and binomial_two_sided_p(1100, 2000) > 0
    assert binomial_two_sided_p(600, 1000) == pytest.approx(2.7e-10, rel=0.05)


def test_a_store_of_the_previous_schema_is_read_as_it_is(make_study, capsys):
    """A study created before ``turing_timing`` existed, archived read-only: its results still print."""
    import sqlite3

    from improved_gan.cli.main import main

    created = make_study(hype_time=True, feedback="off")
    with sqlite3.connect(created.folder / "turing.sqlite3") as conn:
        conn.execute("DROP TABLE turing_timing")
    (created.folder / "turing.sqlite3").chmod(0o444)
    assert main(["turing", "results", str(created.folder)]) == 0
    out = capsys.readouterr().out
    assert "HYPE-time votes left out for their timing: 0" in out
