"""A throwaway PostgreSQL cluster for the store's tests: initdb + pg_ctl on loopback.

The cluster lives in a temporary folder, listens on 127.0.0.1 on a free port
with trust authentication, and is stopped and deleted afterwards. As root it
runs as the ``postgres`` system user (the server refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


class Unavailable(Exception):
    """Why no server can be started here (the tests skip with this reason)."""


def _binaries() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    on_path = shutil.which("initdb")
    for initdb in candidates + ([on_path] if on_path else []):
        folder = Path(initdb).parent
        if (folder / "pg_ctl").is_file() and (folder / "postgres").is_file():
            return folder
    raise Unavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install Debian's "
        "postgresql package (scripts/install-system-deps.sh does)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    run_as: list[str]

    @classmethod
    def start(cls, *, durable: bool = False) -> "PostgresServer":
        """Start a cluster; ``durable=False`` turns fsync off (fine for tests, not for benchmarks)."""
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise Unavailable("psycopg is not installed (pip install 'improved-gan[postgres]')") from None
        bin_dir = _binaries()
        root = Path(tempfile.mkdtemp(prefix="turing-pg-"))
        run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(root)
                raise Unavailable("running as root and there is no 'postgres' user to run the server") from None
            os.chown(root, user.pw_uid, user.pw_gid)
            run_as = ["runuser", "-u", "postgres", "--"]
        server = cls(bin_dir, root, _free_port(), run_as)
        try:
            server._run("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--no-sync")
            options = (f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} "
                       f"-c fsync={'on' if durable else 'off'} -c max_connections=200")
            server._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"),
                        "-o", options, "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as err:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise Unavailable(f"PostgreSQL did not start: {err.stderr or err}\n{log[-2000:]}") from None
        return server

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self.run_as, str(self.bin_dir / program), *args], check=True,
                       capture_output=True, text=True, cwd=self.root)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
