"""Fixtures of the end-to-end tests: a real Synapse homeserver and ``qunyun`` run as its user would."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import services_required

from .synapse import Synapse, free_port, wait_for

_SCRIPT = Path(sys.executable).parent / "qunyun"
QUNYUN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "qunyun.cli.main"]


@pytest.fixture(scope="session")
def synapse(tmp_path_factory):
    if importlib.util.find_spec("synapse") is None or importlib.util.find_spec("nio") is None:
        message = "matrix-synapse and matrix-nio are not installed (pip install -e '.[test]')"
        if services_required():
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    try:
        server.start()
    except Exception as exc:
        if services_required():
            pytest.fail(f"Synapse could not start: {exc}")
        pytest.skip(f"Synapse could not start: {exc}")
    yield server
    server.stop()


class Qunyun:
    """The ``qunyun`` command in its own data directory, and ``qunyun serve`` as a subprocess."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "QUNYUN_HOME": str(home), "QUNYUN_PUBLIC_URL": self.url,
                    "DJANGO_SETTINGS_MODULE": "qunyun.settings.default"}
        self.env.pop("QUNYUN_DATABASE_URL", None)
        self.server: subprocess.Popen | None = None

    def run(self, *args: str) -> str:
        done = subprocess.run([*QUNYUN, *args], env=self.env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"qunyun {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def serve(self) -> None:
        log = open(self.home / "serve.log", "ab")
        self.server = subprocess.Popen([*QUNYUN, "serve", "--port", str(self.port)], env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)

        def up():
            if self.server.poll() is not None:
                raise AssertionError(f"qunyun serve exited: {(self.home / 'serve.log').read_text()[-3000:]}")
            try:
                return httpx.get(self.url + "/r/x/", timeout=1).status_code in (200, 404)
            except httpx.HTTPError:
                return False
        wait_for(up, timeout=60, what="qunyun serve to answer")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(5)
        self.server = None

    def log(self) -> str:
        path = self.home / "serve.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""


@pytest.fixture
def qunyun_home(tmp_path):
    app = Qunyun(tmp_path / "qunyun-home")
    app.home.mkdir()
    yield app
    app.stop()
