"""``qunyun demo`` as a user runs it: a fresh data directory, a real server, a real login."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode, urlparse

import pytest

SMALL = ["--days", "14", "--scale", "0.2"]


def _env(home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "QUNYUN_DATABASE_URL", "QUNYUN_SECRET_KEY", "DISPLAY",
                        "WAYLAND_DISPLAY")}
    env["QUNYUN_HOME"] = str(home)
    env["QUNYUN_CONNECTIONS"] = "0"
    return env


def _qunyun(*args: str) -> list[str]:
    return [sys.executable, "-m", "qunyun.cli.main", *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _login_of(output: str) -> tuple[str, str]:
    match = re.search(r"login:\s+(\S+) / (\S+)", output)
    assert match, output
    return match.group(1), match.group(2)


def test_build_only_then_a_second_run_reuses_it_with_the_same_login(tmp_path):
    first = subprocess.run(_qunyun("demo", "--no-serve", *SMALL), env=_env(tmp_path), capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "[1/3]" in first.stdout and "demo community built" in first.stdout
    assert (tmp_path / "qunyun.sqlite3").exists() and (tmp_path / "demo-login.txt").exists()
    login = _login_of(first.stdout)
    second = subprocess.run(_qunyun("demo", "--no-serve", *SMALL), env=_env(tmp_path), capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "reusing" in second.stdout
    assert _login_of(second.stdout) == login
    assert "Traceback" not in first.stderr + second.stderr


class _Session:
    """Just enough of a browser: cookies, and no automatic redirects."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        result = response.status, {k.lower(): v for k, v in response.getheaders()}, text
        conn.close()
        return result


def test_demo_serves_the_console_and_the_printed_login_logs_in(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(_qunyun("demo", "--no-browser", "--port", str(port), *SMALL), env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "serving at" in line:
                break
        output = "".join(lines)
        assert "serving at" in output, output
        url = re.search(r"serving at (\S+)", output).group(1)
        assert urlparse(url).port == port and urlparse(url).path == "/c/demo/"
        username, password = _login_of(output)

        session = _Session(port)
        status = None
        while time.monotonic() < deadline:
            try:
                status, _headers, page = session.request("GET", "/login/")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, headers, _ = session.request("POST", "/login/", {
            "csrfmiddlewaretoken": token, "username": username, "password": password})
        assert status == 302, "the printed login was refused"
        assert "/login/" not in headers["location"]
        assert "sessionid" in session.cookies
        status, _headers, _page = session.request("GET", "/c/demo/")
        assert status != 302  # logged in: the community page does not send us back to the login
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()


def test_a_port_in_use_is_one_clear_line_before_any_building(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(_qunyun("demo", "--no-browser", "--port", str(port)), env=_env(tmp_path),
                                capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "qunyun.sqlite3").exists()  # nothing was built
    assert elapsed < 10


@pytest.mark.parametrize("args, message", [(["--days", "0"], "--days"), (["--scale", "0"], "--scale")])
def test_bad_options_are_one_clear_line(tmp_path, args, message):
    result = subprocess.run(_qunyun("demo", "--no-serve", *args), env=_env(tmp_path), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
