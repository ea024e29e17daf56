"""A local HTTP server that plays a platform's API in tests and records every call made to it.

It listens on 127.0.0.1 on a free port; ``answers`` maps a path suffix (a Bot API method, a
OneBot action) to the JSON body to answer, or to ``(status, body)``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Recorder:
    def __init__(self, answers: dict[str, Any] | None = None, default: Any = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.answers = dict(answers or {})
        self.default = default if default is not None else {"ok": True, "result": True}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                name = self.path.rstrip("/").rsplit("/", 1)[-1]
                recorder.calls.append((name, body))
                answer = recorder.answers.get(name, recorder.default)
                if callable(answer):
                    answer = answer(body)
                status, payload = answer if isinstance(answer, tuple) else (200, answer)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Recorder":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def named(self, name: str) -> list[dict]:
        return [body for call, body in self.calls if call == name]
