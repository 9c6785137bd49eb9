"""Running the study server under uvicorn.

One process serves by default; ``workers > 1`` starts uvicorn's worker
processes, each of which opens the studies again from the environment variable
:data:`SERVE_ENV` (SQLite in WAL mode and PostgreSQL both take writers from
several processes). Behind an HTTPS reverse proxy, pass ``proxy_headers=True``
so that cookies get the ``Secure`` flag.

Stopping (docs/cli.md, "Signals, locks and links"): SIGINT, SIGTERM and SIGHUP
stop the server as they stop every command, after uvicorn's graceful shutdown:
:class:`KeyboardInterrupt` or :class:`~improved_gan.utils.signals.Terminated`,
so the command says one line and exits 130, 143 or 129; a second signal during
that shutdown ends the process at once (:class:`_StopSignals`). uvicorn's own
handling is replaced where it differs: its Server re-raised the signals it had
caught inside its still-running event loop (a traceback) and ``uvicorn.run``
then swallowed the KeyboardInterrupt (exit status 0); its supervisor of worker
processes restarts them on SIGHUP (:class:`_Supervisor`). Each worker ends with
the parent, SIGKILL included (:func:`_end_with_parent`).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Callable, Iterator, Sequence

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, logger as uvicorn_logger

from improved_gan.errors import ConfigError
from improved_gan.turing.app import create_app
from improved_gan.turing.serve_options import check_serve_options
from improved_gan.turing.served import ServedStudy
from improved_gan.utils.signals import STOP_SIGNALS, Terminated, StopHandler, end_with_parent

SERVE_ENV = "IMPROVED_GAN_TURING_SERVE"

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
    """The app a worker process builds (uvicorn factory), from :data:`SERVE_ENV`; the worker then ends with its
    parent (:func:`_end_with_parent`)."""
    spec = json.loads(os.environ[SERVE_ENV])
    _end_with_parent(spec["parent"])
    return build_app(spec["folders"], database_url=spec["database_url"])


def _end_with_parent(parent_pid: int) -> None:
    """In a worker, while its uvicorn Server loads the app (within the Server's ``capture_signals``: SIGTERM's
    handler is the Server's): SIGTERM when the parent ends, however it ends (PR_SET_PDEATHSIG,
    :func:`end_with_parent`), for the Server's graceful shutdown. Before, a parent killed by SIGKILL left its
    workers serving under init, holding the port.

    ``end_with_parent`` installs the worker handler of the other commands, which would raise KeyboardInterrupt
    inside the event loop; the stop signals are the Server's instead, SIGHUP included (a closing terminal: it
    killed the worker outright), through :func:`_worker_stop`."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    end_with_parent(parent_pid)
    if isinstance(server, uvicorn.Server):
        for signum in STOP_SIGNALS:
            signal.signal(signum, _worker_stop(server))


def _worker_stop(server: uvicorn.Server) -> Callable[[int, FrameType | None], None]:
    """A worker's handler of the stop signals: the Server's graceful shutdown, once; a later signal (Ctrl-C twice
    to the process group, then the parent's SIGTERM or its death) is ignored, as in the workers of the other
    commands (utils/signals.py). uvicorn's own handler forces the exit on a second SIGINT, which cancels the app's
    lifespan (uvicorn logs a 20-line traceback for it), and raises the signals it caught again once the Server is
    done, still inside its event loop (a KeyboardInterrupt there: the same traceback)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    return stop


def check_address(host: str, port: int) -> None:
    """``host:port`` can be listened on now: a ConfigError (one line) for an unknown host, or a port in use or
    not allowed, before any link is printed (uvicorn would log several lines and exit with status 3). An empty
    host is :func:`~improved_gan.turing.serve_options.check_serve_options`'s."""
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
    check_serve_options(host=host, port=port, workers=workers, forwarded_allow_ips=forwarded_allow_ips)
    check_address(host, port)
    app = build_app(folders, database_url=database_url)  # fail early, clearly (a study, two of one name)
    if announce is not None:
        announce(list(app.state.studies.values()))
    common = dict(host=host, port=port, proxy_headers=proxy_headers, log_level=log_level,
                  server_header=False, forwarded_allow_ips=forwarded_allow_ips)
    if workers == 1:  # what uvicorn.run(app) does, with the stop signals of every command
        server = _Server(uvicorn.Config(app, **common))
        with _StopSignals(lambda signum: setattr(server, "should_exit", True)).installed():
            server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    for served in app.state.studies.values():  # each worker opens them again
        served.store.close()
    os.environ[SERVE_ENV] = json.dumps({
        "folders": [str(Path(f).resolve()) for f in folders], "database_url": database_url,
        "parent": os.getpid(),
    })
    config = uvicorn.Config("improved_gan.turing.server:app_from_environment", factory=True,
                            workers=workers, **common)
    supervisor = _Supervisor(config, sockets=[config.bind_socket()])
    with _StopSignals(supervisor.signal_queue.append).installed():  # its loop acts on the queue
        supervisor.run()


class _StopSignals(StopHandler):
    """The stop signals while uvicorn serves (in the main thread, around the whole run): the first asks the server
    to stop (``stop(signum)``: uvicorn's graceful shutdown) and is raised once the server has returned, out of its
    event loop; a second one during the shutdown ends the process at once, with the first one's status and the
    one line of every command (:class:`~improved_gan.utils.signals.StopHandler`)."""

    def __init__(self, stop: Callable[[int], None]) -> None:
        super().__init__()
        self.stop = stop

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.first is not None:
            return super().__call__(signum, frame)  # ends the process
        self.first = signum
        self.stop(signum)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Within the block, this handler; after it, when a signal stopped the server, that signal given to the
        handler there was before (the command's, whose clean-up and one line follow, and which ends the process
        at once on one more signal), or raised here: KeyboardInterrupt for SIGINT, else ``Terminated``."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)
        if self.first is not None:
            if callable(previous[self.first]):
                previous[self.first](self.first, None)
            raise KeyboardInterrupt if self.first == signal.SIGINT else Terminated(self.first)


class _Server(uvicorn.Server):
    """uvicorn's Server, one process, without its signal handlers: :class:`_StopSignals` is installed around its
    run instead, so that no signal is raised inside the event loop, even one in its first or last moment (uvicorn
    installs its handlers only once the loop runs, and re-raises what they caught before the loop ends)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, stopped by SIGHUP as by SIGINT and SIGTERM (it sends each worker
    SIGTERM and waits for it). uvicorn's restarts the workers on SIGHUP (a web server's reload): with the whole
    process group sent SIGHUP by a closing terminal, the workers died of it and the supervisor started new ones
    and went on serving. The stop signals reach its ``signal_queue`` through :class:`_StopSignals`."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        kept = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
        super().__init__(config, sockets)  # sets its handlers of every signal it acts on
        for signum, handler in kept.items():  # the stop signals stay the command's, for _StopSignals to take over
            signal.signal(signum, handler)

    def handle_hup(self) -> None:
        uvicorn_logger.info("Received SIGHUP, exiting.")
        self.should_exit.set()


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
