"""Where and how ``turing serve`` listens, as the user gives it (``--host``, ``--port``, ``--workers``,
``--forwarded-allow-ips``): checked here, before the web stack is imported (docs/cli.md, Start-up). Whether this
machine can listen on the address now (a host it has, a port not in use) is
:func:`improved_gan.turing.server.check_address`'s, which binds a socket.
"""

from __future__ import annotations

from improved_gan.errors import ConfigError

MAX_WORKERS = 64
"""The most server processes (``--workers 100000`` started that many, each opening every study)."""


def check_serve_options(*, host: str, port: int, workers: int, forwarded_allow_ips: str | None) -> None:
    """A ConfigError (one line) for a value no server could start with: ``workers`` outside 1 to
    :data:`MAX_WORKERS`, a port outside 1-65535, an empty host or an empty list of trusted proxies."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS} server processes (got {workers})")
    check_port(port)
    if not host.strip():
        raise ConfigError("--host is empty; give an address to listen on (127.0.0.1: this machine only, "
                          "0.0.0.0: all interfaces)")
    if forwarded_allow_ips is not None and not forwarded_allow_ips.strip():
        raise ConfigError("--forwarded-allow-ips is empty; name the proxies' addresses, or leave it out "
                          "(127.0.0.1)")


def check_port(port: int) -> int:
    """``port`` if a server can listen on it (1-65535); else a ConfigError."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"a port is 1-65535 (got {port})")
    return port
