"""Connections: secrets encrypted or from the environment and never shown; status and reconnects."""

from __future__ import annotations

import asyncio
import time

import pytest

from qunyun.cli.main import main
from qunyun.connections import supervisor as sup
from qunyun.connections.models import Connection
from qunyun.connections.secrets import SecretError
from qunyun.connections.selectors import connections_for_community
from qunyun.connections.services import connection_configure, connection_secrets

pytestmark = pytest.mark.django_db(transaction=True)


def test_secrets_are_stored_encrypted_and_never_listed(community, capsys):
    assert main(["connect", "matrix", "--community", "tea", "--homeserver", "https://matrix.example.org",
                 "--user-id", "@qunyun:example.org", "--password", "hunter2-very-secret"]) == 0
    out = capsys.readouterr().out
    conn = Connection.objects.get()
    assert "hunter2" not in out and "hunter2" not in conn.secrets_encrypted and "hunter2" not in str(conn.settings)
    assert connection_secrets(conn) == {"password": "hunter2-very-secret"}
    assert main(["connections", "list"]) == 0
    listed = capsys.readouterr().out
    assert "password stored (encrypted)" in listed and "hunter2" not in listed
    view = connections_for_community(community)[0]
    assert (view.platform, view.status, view.secrets) == ("matrix", "configured", {"password": "stored (encrypted)"})


def test_a_secret_can_come_from_the_environment(community, monkeypatch):
    conn, _ = connection_configure(community=community, platform="telegram", settings={"mode": "polling"},
                                   secrets={"token": "env:TEA_BOT_TOKEN"})
    with pytest.raises(SecretError, match="TEA_BOT_TOKEN is not set"):
        connection_secrets(conn)
    monkeypatch.setenv("TEA_BOT_TOKEN", "123:abc")
    assert connection_secrets(conn) == {"token": "123:abc"}


@pytest.mark.parametrize("argv, message", [
    (["connect", "matrix", "--community", "tea", "--homeserver", "matrix.example.org", "--user-id", "@a:b",
      "--token", "t"], "--homeserver: 'matrix.example.org' is not a http/https URL"),
    (["connect", "matrix", "--community", "tea", "--homeserver", "https://m.org", "--user-id", "qunyun",
      "--token", "t"], "--user-id: 'qunyun' is not a Matrix id"),
    (["connect", "telegram", "--community", "tea", "--token", "nope"], "not a bot token"),
    (["connect", "onebot", "--community", "tea", "--ws-url", "http://x"], "is not a ws/wss URL"),
    (["connect", "generic", "--community", "nope", "--secret", "0123456789abcdef"], "no community 'nope'"),
])
def test_bad_options_get_one_clear_line(community, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


class Flaky:
    """A connector whose session drops twice, then holds."""

    platform = "fake"
    capabilities = frozenset({"send"})
    drops = 0

    def __init__(self, info, *, host):
        self.info = info

    async def run(self, connected):
        if Flaky.drops < 2:
            Flaky.drops += 1
            raise ConnectionError("homeserver went away")
        connected()
        try:
            await asyncio.sleep(3600)
        finally:  # closing its session takes a moment, as a real client's does
            await asyncio.sleep(0.01)

    def execute(self, decision, *, idempotency_key):
        return None

    def close(self):
        pass


def test_a_dropped_connection_reconnects_with_backoff_and_says_so(community, monkeypatch):
    conn, _ = connection_configure(community=community, platform="generic", settings={}, secrets={"secret": "x" * 16})
    monkeypatch.setattr(sup, "connector_class", lambda platform: Flaky)
    monkeypatch.setattr(sup, "reconnect_delay", lambda attempt: 0.05 * (attempt + 1))
    supervisor = sup.Supervisor()
    supervisor._thread.start()
    try:
        supervisor.add(Connection.objects.select_related("community").get(pk=conn.pk))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            conn.refresh_from_db()
            if conn.status == "connected":
                break
            time.sleep(0.05)
        assert (conn.status, conn.reconnects) == ("connected", 2)
        assert conn.last_error == ""
        from qunyun.bus.registry import adapter_get

        assert adapter_get("generic") is supervisor.routers["generic"]
    finally:
        from qunyun.bus.registry import adapter_unregister

        supervisor.stop()
        adapter_unregister("generic")
    # Stopped means finished: no task is left pending on the stopped loop (one left there was
    # closed later by the collector and tried to report a dropped session on the closed loop).
    supervisor._thread.join(timeout=5)
    assert not [task for task in asyncio.all_tasks(supervisor.loop) if not task.done()]
