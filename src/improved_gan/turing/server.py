"""Running the study server under uvicorn.

One process serves by default; ``workers > 1`` starts uvicorn's worker
processes, each of which opens the studies again from the environment variable
:data:`SERVE_ENV` (SQLite in WAL mode and PostgreSQL both take writers from
several processes). Behind an HTTPS reverse proxy, pass ``proxy_headers=True``
so that cookies get the ``Secure`` flag.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import uvicorn
from fastapi import FastAPI

from improved_gan.errors import ConfigError
from improved_gan.turing.app import create_app
from improved_gan.turing.served import ServedStudy

SERVE_ENV = "IMPROVED_GAN_TURING_SERVE"

MAX_WORKERS = 64
"""The most server processes (``--workers 100000`` started that many, each opening every study)."""


def open_studies(folders: Sequence[str | Path], *, database_url: str | None = None) -> list[ServedStudy]:
    """Open each study folder (and its store); closes what was opened if one fails."""
    if not folders:
        raise ConfigError("name at least one study folder to serve")
    opened: list[ServedStudy] = []
    try:
        for folder in folders:
            opened.append(ServedStudy.open(folder, database_url=database_url))
    except BaseException:
        for served in opened:
            served.store.close()
        raise
    return opened


def build_app(folders: Sequence[str | Path], *, database_url: str | None = None) -> FastAPI:
    return create_app(open_studies(folders, database_url=database_url))


def app_from_environment() -> FastAPI:
    """The app a worker process builds (uvicorn factory), from :data:`SERVE_ENV`."""
    spec = json.loads(os.environ[SERVE_ENV])
    return build_app(spec["folders"], database_url=spec["database_url"])


def check_address(host: str, port: int) -> None:
    """``host:port`` can be listened on now: a ConfigError (one line) for an empty or unknown host, or a port
    in use or not allowed, before any link is printed (uvicorn would log several lines and exit with status 3)."""
    if not host.strip():
        raise ConfigError("--host is empty; give an address to listen on (127.0.0.1: this machine only, "
                          "0.0.0.0: all interfaces)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as err:
        raise ConfigError(f"--host {host!r} is not an address this machine can listen on "
                          f"({getattr(err, 'strerror', None) or err}); use 127.0.0.1, 0.0.0.0 or one of its "
                          "addresses") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as err:
            in_use = err.errno == errno.EADDRINUSE
            hint = "another server is listening there; stop it or choose another --port" if in_use else (
                "choose another --host or --port")
            raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}; {hint}") from None


def serve(
    folders: Sequence[str | Path],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    database_url: str | None = None,
    workers: int = 1,
    proxy_headers: bool = False,
    forwarded_allow_ips: str | None = None,
    log_level: str = "info",
    announce: Callable[[list[ServedStudy]], None] | None = None,
) -> None:
    """Serve the studies until interrupted.

    ``forwarded_allow_ips``: the proxies whose ``X-Forwarded-*`` headers are
    believed (uvicorn's default: 127.0.0.1). ``announce`` is called with the
    opened studies once every check passed (the address, the studies), just
    before the server starts.
    """
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS} server processes (got {workers})")
    if not 1 <= port <= 65535:
        raise ConfigError(f"a port is 1-65535 (got {port})")
    if forwarded_allow_ips is not None and not forwarded_allow_ips.strip():
        raise ConfigError("--forwarded-allow-ips is empty; name the proxies' addresses, or leave it out "
                          "(127.0.0.1)")
    check_address(host, port)
    app = build_app(folders, database_url=database_url)  # fail early, clearly (a study, two of one name)
    if announce is not None:
        announce(list(app.state.studies.values()))
    common = dict(host=host, port=port, proxy_headers=proxy_headers, log_level=log_level,
                  server_header=False, forwarded_allow_ips=forwarded_allow_ips)
    if workers == 1:
        uvicorn.run(app, **common)
        return
    for served in app.state.studies.values():  # each worker opens them again
        served.store.close()
    os.environ[SERVE_ENV] = json.dumps({
        "folders": [str(Path(f).resolve()) for f in folders], "database_url": database_url,
    })
    uvicorn.run("improved_gan.turing.server:app_from_environment", factory=True,
                workers=workers, **common)


class BackgroundServer:
    """The study server on loopback in a thread of this process (tests, notebooks, demos).

    ``start()`` picks a free port the first time and keeps it across
    ``stop()``/``start()``, which reopens the studies: a restart.
    """

    def __init__(self, folders: Sequence[str | Path], *, database_url: str | None = None) -> None:
        self.folders = list(folders)
        self.database_url = database_url
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._app: FastAPI | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 20.0) -> "BackgroundServer":
        self._app = build_app(self.folders, database_url=self.database_url)
        config = uvicorn.Config(self._app, host="127.0.0.1", port=self.port or 0,
                                log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the study server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=20)
        for served in self._app.state.studies.values():
            served.store.close()
        self._server = None
