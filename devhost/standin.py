"""A tiny request/response model shared by the stand-ins and the local host's HTTP server.

Each stand-in (Entra token issuer, MSA OpenID provider, Microsoft Graph) is a ``StandIn``
mounted under a path prefix. ``serve`` runs any set of them (plus an optional fallback
handler, the function app) on a threaded HTTP or HTTPS server.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # below the stand-in's prefix, always starting with "/"
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host:port of the server that received it
    full_path: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode())

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, {"Location": location, "Cache-Control": "no-store"})


class StandIn(Protocol):
    prefix: str  # e.g. "/_dev/graph"

    def handle(self, request: Request) -> Response: ...


Handler = Callable[[Request], Response]


def _not_found(request: Request) -> Response:
    return Response.json({"error": "not found", "path": request.full_path}, 404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(
    standins: Sequence[StandIn],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    fallback: Handler = _not_found,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> ThreadingHTTPServer:
    """Build (not start) a server; port 0 picks a free port (``server.server_address``)."""
    ordered = sorted(standins, key=lambda s: len(s.prefix), reverse=True)
    scheme = "https" if tls_cert else "http"

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK add 40 ms to every keep-alive response.
        disable_nagle_algorithm = True
        server_version = "devhost"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the app logs
            return

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            address: Any = self.server.server_address
            host_header = headers.get("host") or f"{address[0]}:{address[1]}"
            base_url = f"{scheme}://{host_header}"
            handler: Handler = fallback
            sub_path = parts.path
            for standin in ordered:
                if parts.path == standin.prefix or parts.path.startswith(standin.prefix + "/"):
                    handler = standin.handle
                    sub_path = parts.path[len(standin.prefix) :] or "/"
                    break
            request = Request(
                method=self.command,
                path=sub_path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=headers,
                body=body,
                base_url=base_url,
                full_path=parts.path,
            )
            try:
                response = handler(request)
            except Exception:  # a stand-in bug must not kill the connection silently
                response = Response.json({"error": "stand-in failure"}, 500)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    server = _Server((host, port), _Handler)
    if tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls_cert), str(tls_key) if tls_key else None)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    return thread


def base_url_of(server: ThreadingHTTPServer, *, tls: bool = False, host: str = "localhost") -> str:
    return f"{'https' if tls else 'http'}://{host}:{server.server_address[1]}"
