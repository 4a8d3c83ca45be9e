"""A Logic App Request-trigger stand-in for tests: records CloudEvents, can be taken down."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devhost.standin import Request, Response, make_server, serve_in_thread


class Receiver:
    prefix = "/hooks"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.down = False
        self.attempts = 0
        self._lock = threading.Lock()
        self.url = ""
        self.signature = ""

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.attempts += 1
            if self.down:
                return Response.json({"error": "down for maintenance"}, 503)
            # A Logic App's Request trigger parses only application/json bodies into triggerBody();
            # any other type arrives as {"$content-type", "$content": base64} and the schema fails.
            assert request.headers.get("content-type", "").split(";")[0].strip() == "application/json"
            self.events.append(json.loads(request.body))
        return Response(202)

    def ids(self) -> list[str]:
        with self._lock:
            return [e["id"] for e in self.events]


@contextmanager
def receiver(r: Receiver | None = None) -> Iterator[Receiver]:
    r = r or Receiver()
    server = make_server([r], port=0)
    serve_in_thread(server)
    # Shaped like a Logic App Request trigger URL: its signature is a secret.
    r.signature = secrets.token_urlsafe(24)
    r.url = (
        f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sig={r.signature}"
    )
    try:
        yield r
    finally:
        server.shutdown()
        server.server_close()
