"""Load test of the human-study server: no acknowledged vote may be lost.

N scripted annotators (threads, each with its own HTTP client and cookies) go
through a study on a real uvicorn server on loopback as fast as they can: page
of the current image, vote, next. A vote counts as *acknowledged* when the
server answered its POST with 303. Optionally the server is killed (SIGKILL) or
stopped (SIGTERM) mid-run and started again; annotators retry what failed, as
a browser user would press the button again. At the end the store is read
directly and compared with what was acknowledged, vote by vote: the two sets
must be equal.

    python benchmarks/turing_load.py                          # 50 annotators x 40 votes, SQLite
    python benchmarks/turing_load.py --restart kill --json out.json
    python benchmarks/turing_load.py --postgres               # a throwaway PostgreSQL cluster

Annotators and server share this machine's cores, so the latencies include
waiting for the CPU behind the clients' own work.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from improved_gan.turing import security
from improved_gan.turing.client import ScriptedAnnotator
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.create import ImagePool, create_study
from improved_gan.turing.database import default_url
from improved_gan.turing.store import Store

RETRYABLE = (httpx.TransportError,)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``improved-gan turing serve`` in its own process group, restartable."""

    def __init__(self, folder: Path, port: int, database_url: str | None, workers: int) -> None:
        self.command = [sys.executable, "-m", "improved_gan", "turing", "serve", str(folder),
                        "--port", str(port), "--workers", str(workers)]
        if database_url:
            self.command += ["--database", database_url]
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until it answers; returns the seconds it took."""
        began = time.monotonic()
        self.process = subprocess.Popen(self.command, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not answer in time")

    def stop(self, how: str = "term") -> None:
        sig = signal.SIGKILL if how == "kill" else signal.SIGTERM
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)


@dataclass
class Tally:
    """What the annotators saw, merged under a lock."""

    acknowledged: set = field(default_factory=set)  # (token hash, position, answer)
    vote_ms: list = field(default_factory=list)
    page_ms: list = field(default_factory=list)
    retries: int = 0
    replayed: int = 0
    errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def with_retries(tally: Tally, call, *, deadline: float):
    """``call()`` until it gets through (the server may be restarting)."""
    while True:
        try:
            return call()
        except RETRYABLE:
            if time.monotonic() > deadline:
                raise
            with tally.lock:
                tally.retries += 1
            time.sleep(0.05)


def annotate(url: str, slug: str, code: str, votes: int, seed: int, tally: Tally,
             deadline: float) -> None:
    rng = np.random.default_rng(seed)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            annotator = ScriptedAnnotator(client, slug)
            with_retries(tally, lambda: annotator.start(code), deadline=deadline)
            token_hash = security.hash_token(annotator.token)
            for _ in range(votes):
                began = time.perf_counter()
                trial = with_retries(tally, annotator.current, deadline=deadline)
                shown = time.perf_counter()
                answer = "generated" if rng.random() < 0.5 else "real"
                response = with_retries(tally, lambda: annotator.vote(trial, answer), deadline=deadline)
                done = time.perf_counter()
                if response.status_code != 303:
                    raise RuntimeError(f"vote answered {response.status_code}")
                with tally.lock:
                    tally.acknowledged.add((token_hash, trial.position, answer))
                    tally.page_ms.append(1000 * (shown - began))
                    tally.vote_ms.append(1000 * (done - shown))
                    tally.replayed += response.headers.get("x-turing-vote") == "replayed"
    except Exception as err:  # noqa: BLE001 - reported in the summary
        with tally.lock:
            tally.errors.append(repr(err))


def stored_votes(database_url: str, slug: str) -> set:
    from sqlalchemy import select

    from improved_gan.turing import schema

    store = Store.open(database_url)
    try:
        study = store.study(slug)
        with store.engine.connect() as conn:
            hashes = dict(conn.execute(select(schema.sessions.c.id, schema.sessions.c.token_hash)
                                       .where(schema.sessions.c.study_id == study.id)).all())
        return {(hashes[v.session_id], v.position, "generated" if v.said_generated else "real")
                for v in store.votes(study.id)}
    finally:
        store.close()


def percentile(values: list, q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(args: argparse.Namespace, root: Path, database_url: str | None) -> dict:
    rng = np.random.default_rng(0)
    n = 2 * max(args.votes, 1)  # each pool twice a session: no recurring-pool warning
    pools = [ImagePool(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), source=kind)
             for kind in ("real", "generated")]
    options = StudyOptions(slug="load", per_session=args.votes, feedback="off")
    created = create_study(root / "load", options, real=pools[0], generated=pools[1],
                           database_url=database_url)
    store = Store.open(database_url or default_url(created.folder))
    codes = store.add_invitations(store.study(created.slug), [None] * args.annotators)
    store.close()
    server = ServerProcess(created.folder, free_port(), database_url, args.workers)
    server.start()
    tally = Tally()
    deadline = time.monotonic() + args.timeout
    threads = [threading.Thread(target=annotate, args=(server.url, created.slug, codes[i],
                                                       args.votes, i, tally, deadline))
               for i in range(args.annotators)]
    began = time.monotonic()
    for t in threads:
        t.start()
    restart = None
    if args.restart != "none":
        target = args.restart_at * args.annotators * args.votes
        while len(tally.acknowledged) < target and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        acked_before = len(tally.acknowledged)
        stopped = time.monotonic()
        server.stop(args.restart)
        startup = server.start()
        restart = {"mode": args.restart, "acknowledged_before": acked_before,
                   "down_s": round(time.monotonic() - stopped, 2), "startup_s": round(startup, 2)}
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    server.stop("term")
    stored = stored_votes(database_url or default_url(created.folder), created.slug)
    acknowledged = tally.acknowledged
    return {
        "annotators": args.annotators,
        "votes_per_annotator": args.votes,
        "database": "postgresql" if args.postgres else ("sqlite" if database_url is None else "url"),
        "workers": args.workers,
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "equal": acknowledged == stored,
        "acknowledged_not_stored": len(acknowledged - stored),
        "stored_not_acknowledged": len(stored - acknowledged),
        "replayed_acknowledgements": tally.replayed,
        "retried_requests": tally.retries,
        "errors": tally.errors[:5],
        "elapsed_s": round(elapsed, 2),
        "votes_per_s": round(len(acknowledged) / elapsed, 1),
        "vote_ms": {"p50": round(percentile(tally.vote_ms, 50), 1),
                    "p99": round(percentile(tally.vote_ms, 99), 1),
                    "max": round(max(tally.vote_ms, default=float("nan")), 1),
                    "mean": round(statistics.fmean(tally.vote_ms), 1) if tally.vote_ms else None},
        "page_ms": {"p50": round(percentile(tally.page_ms, 50), 1),
                    "p99": round(percentile(tally.page_ms, 99), 1)},
        "restart": restart,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--votes", type=int, default=40, help="votes per annotator")
    parser.add_argument("--restart", choices=("none", "kill", "term"), default="none",
                        help="stop the server mid-run (SIGKILL or SIGTERM) and start it again")
    parser.add_argument("--restart-at", type=float, default=0.5,
                        help="fraction of all votes acknowledged before the restart")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--database", help="store URL (default: SQLite in the study folder)")
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL cluster (tests/turing/pg_cluster.py)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()

    cluster = None
    database_url = args.database
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from turing.pg_cluster import PostgresServer

        cluster = PostgresServer.start(durable=True)  # fsync on, as in production
        database_url = cluster.new_database()
    try:
        with tempfile.TemporaryDirectory(prefix="turing-load-") as root:
            result = run(args, Path(root), database_url)
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["equal"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
