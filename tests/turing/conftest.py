"""Fixtures of the human-study tests: small studies, app clients, a live server, PostgreSQL."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import pytest

from improved_gan.turing.app import create_app
from improved_gan.turing.config import StudyOptions
from improved_gan.turing.create import CreatedStudy, PoolWarning, create_study
from improved_gan.turing.server import BackgroundServer, open_studies

from turing.pg_cluster import PostgresServer, Unavailable
from turing.study_data import InvitedStudy, invite, study_pools

with warnings.catch_warnings():  # starlette prefers the httpx2 package; httpx works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def make_study(tmp_path: Path) -> Callable[..., CreatedStudy]:
    """``make_study(slug, per_session=, feedback=, n=, database_url=, folder=, invitations=,
    **more StudyOptions)``.

    The study is in tmp/<folder or slug>, with ``invitations`` codes (``.code()``).
    """

    def make(slug: str = "demo", *, per_session: int = 6, feedback: str = "on", n: int = 12,
             database_url: str | None = None, shape=(8, 8, 3), folder: str | None = None,
             invitations: int = 8, **more_options) -> InvitedStudy:
        real, generated = study_pools(n, shape=shape)
        options = StudyOptions(slug=slug, per_session=per_session, feedback=feedback,
                               **more_options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PoolWarning)  # small test pools
            created = create_study(tmp_path / (folder or slug), options, real=real,
                                   generated=generated, database_url=database_url)
        codes = invite(created, invitations, database_url=database_url) if invitations else []
        return InvitedStudy(**vars(created), codes=codes, database_url=database_url)

    return make


@pytest.fixture
def client_for():
    """``client_for(*created_studies, database_url=None)`` -> a TestClient on the app."""
    opened = []

    def make(*created: CreatedStudy, database_url: str | None = None) -> TestClient:
        studies = open_studies([c.folder for c in created], database_url=database_url)
        opened.extend(studies)
        return TestClient(create_app(studies), follow_redirects=False)

    yield make
    for served in opened:
        served.store.close()


@pytest.fixture
def live_server():
    """``live_server(created, database_url=None)`` -> a started uvicorn server in a thread."""
    servers = []

    def start(created: CreatedStudy, database_url: str | None = None) -> BackgroundServer:
        server = BackgroundServer([created.folder], database_url=database_url).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = PostgresServer.start()
    except Unavailable as reason:
        pytest.skip(str(reason))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the test cluster."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> str:
    """A store URL on each back end: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_url")
