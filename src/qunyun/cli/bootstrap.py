"""Getting Django ready for a command, turning every setup problem into one clear line."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from .errors import UserError

_ready = False


def _redact(url: str) -> str:
    """A database URL with its password hidden, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def prepare_home() -> Path:
    """Create the data directory and its secret key if needed; refuse an unwritable one."""
    from qunyun.settings import env

    home = env.home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UserError(
            f"the data directory {home} is not writable ({exc.strerror or exc}); "
            "set QUNYUN_HOME to a directory you can write to"
        ) from exc
    key = home / "secret_key"
    if not key.exists() and not os.environ.get("QUNYUN_SECRET_KEY"):
        key.write_text(secrets.token_urlsafe(50))
        try:
            key.chmod(0o600)
        except OSError:  # pragma: no cover - platforms without chmod
            pass
    return home


def check_database_url() -> str:
    """Validate ``QUNYUN_DATABASE_URL`` before Django reads it."""
    import dj_database_url

    from qunyun.settings import env

    url = env.database_url()
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:
        raise UserError(
            f"QUNYUN_DATABASE_URL {_redact(url)!r} is not a database URL I can use ({exc}); "
            "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:5432/NAME"
        ) from exc
    engine = config.get("ENGINE", "")
    if engine not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
        raise UserError(
            f"QUNYUN_DATABASE_URL {_redact(url)!r}: only SQLite and PostgreSQL are supported "
            "(sqlite:///PATH or postgresql://…)"
        )
    if engine == "django.db.backends.postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise UserError("PostgreSQL needs psycopg: pip install 'qunyun[postgres]'") from exc
    return url


def django_ready(*, migrate: bool = True) -> None:
    """Configure Django for a command: data directory, database reachable, schema up to date."""
    global _ready
    if _ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qunyun.settings.default")
    if os.environ["DJANGO_SETTINGS_MODULE"] == "qunyun.settings.default":
        prepare_home()
        url = check_database_url()
    else:
        url = "(test settings)"
    import django
    from django.db import connection
    from django.db.utils import OperationalError

    django.setup()
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot connect to the database {_redact(url)}: {first}; "
            "check QUNYUN_DATABASE_URL and that the server is running"
        ) from exc
    if migrate:
        migrate_if_needed()
    _ready = True


def migrate_if_needed(*, verbosity: int = 0) -> int:
    """Apply pending migrations and finish any bulk import cut short; returns how many migrations were applied."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", interactive=False, verbosity=verbosity)
    from qunyun.bus.bulk import bulk_repair

    bulk_repair()  # an import loading in bulk that was killed: its indexes and rollups, finished now
    return len(plan)
