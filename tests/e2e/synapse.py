"""A throwaway Synapse homeserver for end-to-end tests, and a tiny Matrix client to drive it.

The server listens on 127.0.0.1 only, keeps its data in SQLite under a temporary directory,
trusts no key server, has presence and URL previews off and rate limits raised, and registers
users with its shared secret. It runs in its own process group and is stopped by pid.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import yaml

_RATE = {"per_second": 1000, "burst_count": 1000}
RATE_LIMITS = {
    "rc_message": _RATE, "rc_registration": _RATE, "rc_admin_redaction": _RATE, "rc_joins_per_room": _RATE,
    "rc_login": {"address": _RATE, "account": _RATE, "failed_attempts": _RATE},
    "rc_joins": {"local": _RATE, "remote": _RATE},
    "rc_invites": {"per_room": _RATE, "per_user": _RATE, "per_issuer": _RATE},
    "rc_3pid_validation": _RATE, "rc_presence": {"per_user": _RATE},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Synapse:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = root / "homeserver.yaml"
        self.process: subprocess.Popen | None = None
        self.secret = uuid.uuid4().hex

    def configure(self) -> None:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "synapse.app.homeserver", "--server-name", "localhost", "--config-path",
             str(self.config), "--data-directory", str(data), "--generate-config", "--report-stats=no"],
            check=True, capture_output=True, cwd=self.root, timeout=120)
        config = yaml.safe_load(self.config.read_text())
        config["listeners"] = [{"port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                                "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}]
        config.update({
            "trusted_key_servers": [], "suppress_key_server_warning": True, "presence": {"enabled": False},
            "url_preview_enabled": False, "registration_shared_secret": self.secret, "enable_registration": False,
            "report_stats": False, "federation_domain_whitelist": [], "enable_metrics": False,
            **RATE_LIMITS,
        })
        config["database"] = {"name": "sqlite3", "args": {"database": str(data / "homeserver.db")}}
        self.config.write_text(yaml.safe_dump(config))

    def start(self) -> None:
        self.configure()
        log = open(self.root / "synapse.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config)],
            cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Synapse exited with {self.process.returncode}; see {self.root / 'synapse.log'}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("Synapse did not answer /health within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def register(self, name: str, password: str, *, admin: bool = False) -> "MatrixUser":
        """Register a user with the shared secret (what register_new_matrix_user does)."""
        nonce = httpx.get(self.url + "/_synapse/admin/v1/register").json()["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        resp = httpx.post(self.url + "/_synapse/admin/v1/register", json={
            "nonce": nonce, "username": name, "password": password, "admin": admin, "mac": mac.hexdigest()})
        resp.raise_for_status()
        body = resp.json()
        return MatrixUser(self.url, body["user_id"], body["access_token"])


class MatrixUser:
    """Just enough of the client-server API to play a member in a test."""

    def __init__(self, url: str, user_id: str, token: str) -> None:
        self.user_id = user_id
        self.http = httpx.Client(base_url=url + "/_matrix/client/v3", headers={"Authorization": f"Bearer {token}"},
                                 timeout=30)

    def _ok(self, resp: httpx.Response) -> dict:
        if resp.status_code >= 400:
            raise AssertionError(f"{self.user_id}: {resp.request.method} {resp.request.url.path} → "
                                 f"{resp.status_code} {resp.text}")
        return resp.json()

    def create_room(self, name: str, *, power: dict[str, int], invite: list[str] = ()) -> str:
        return self._ok(self.http.post("/createRoom", json={
            "name": name, "preset": "private_chat", "invite": list(invite),
            "power_level_content_override": {"users": dict(power)},
        }))["room_id"]

    def invite(self, room: str, user: str) -> None:
        self._ok(self.http.post(f"/rooms/{room}/invite", json={"user_id": user}))

    def join(self, room: str) -> None:
        self._ok(self.http.post(f"/join/{room}", json={}))

    def send(self, room: str, text: str) -> httpx.Response:
        return self.http.put(f"/rooms/{room}/send/m.room.message/{uuid.uuid4().hex}",
                             json={"msgtype": "m.text", "body": text})

    def messages(self, room: str, limit: int = 100) -> list[dict]:
        return self._ok(self.http.get(f"/rooms/{room}/messages", params={"dir": "b", "limit": limit}))["chunk"]

    def event(self, room: str, event_id: str) -> dict:
        return self._ok(self.http.get(f"/rooms/{room}/event/{event_id}"))

    def members(self, room: str) -> dict[str, str]:
        """user id → membership."""
        chunk = self._ok(self.http.get(f"/rooms/{room}/members"))["chunk"]
        return {e["state_key"]: e["content"].get("membership") for e in chunk}

    def power_levels(self, room: str) -> dict:
        return self._ok(self.http.get(f"/rooms/{room}/state/m.room.power_levels/"))


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.25, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
