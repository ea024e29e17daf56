"""Environment variables that configure qunyun, each documented where it is read.

=========================  ==================================================================
``QUNYUN_HOME``            Data directory: the SQLite database, the secret key, trained models,
                           uploaded files. Default: ``$XDG_DATA_HOME/qunyun`` or
                           ``~/.local/share/qunyun`` on Linux, ``~/Library/Application
                           Support/qunyun`` on macOS, ``%APPDATA%\\qunyun`` on Windows.
``QUNYUN_DATABASE_URL``    Database. Default: SQLite at ``$QUNYUN_HOME/qunyun.sqlite3`` (WAL
                           mode). ``postgresql://user:pass@host:5432/name`` selects PostgreSQL
                           (install the ``postgres`` extra).
``QUNYUN_REDIS_URL``       Redis, for the multi-worker event stream. Default: unset (in-process).
``QUNYUN_SECRET_KEY``      Django secret key. Default: generated once into
                           ``$QUNYUN_HOME/secret_key``.
``QUNYUN_DEBUG``           ``1`` for Django debug pages and tracebacks. Default: off.
``QUNYUN_ALLOWED_HOSTS``   Comma-separated host names the web server answers. Default:
                           ``localhost,127.0.0.1,[::1]``.
``QUNYUN_DRY_RUN``         ``1`` records every decision without executing any (for all
                           communities). Default: off.
``QUNYUN_LANGUAGE``        Default console language when the browser says nothing: ``zh-hans``
                           or ``en``. Default: ``en``.
=========================  ==================================================================
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def flag(name: str, default: bool = False) -> bool:
    """A boolean variable: 1/true/yes/on are true."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_home() -> Path:
    """The per-user data directory when ``QUNYUN_HOME`` is not set."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "qunyun"
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", Path.home())) / "qunyun"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "qunyun"


def home() -> Path:
    """The data directory (not created here: see :mod:`qunyun.cli.bootstrap`)."""
    configured = os.environ.get("QUNYUN_HOME")
    return Path(configured).expanduser() if configured else default_home()


def database_url() -> str:
    """The database URL, SQLite under the data directory by default."""
    return os.environ.get("QUNYUN_DATABASE_URL") or f"sqlite:///{home() / 'qunyun.sqlite3'}"


def secret_key() -> str:
    """The secret key from the environment or the data directory's ``secret_key`` file."""
    configured = os.environ.get("QUNYUN_SECRET_KEY")
    if configured:
        return configured
    path = home() / "secret_key"
    try:
        return path.read_text().strip()
    except OSError:
        # Not created yet (the command creates it before Django starts); a throwaway key
        # keeps read-only tools like ``qunyun version`` working.
        return "qunyun-unconfigured-" + os.urandom(16).hex()
