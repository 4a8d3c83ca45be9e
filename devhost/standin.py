"""A tiny request/response model shared by the stand-ins and the local host's HTTP server.

Each stand-in (Entra token issuer, MSA OpenID provider, Microsoft Graph) is a ``StandIn``
mounted under a path prefix. ``make_server`` runs any set of them (plus an optional fallback
handler, the function app) on a threaded HTTP or HTTPS server with the limits of the
Functions host (``Limits``): a 100 MB body and a 4 KB URL, a deadline for the request
headers and a minimum upload rate (Kestrel's defaults), an idle keep-alive timeout, and a
bounded number of connections served at once (a connection beyond it is answered 503 at
once, without a thread). The TLS handshake happens on the connection's thread, under the
headers deadline, so a client that stalls it cannot block the accept loop.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import math
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("devhost.http")


@dataclass
class Request:
    method: str
    path: str  # below the stand-in's prefix, always starting with "/"
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host:port of the server that received it
    full_path: str = ""
    raw_query: str = ""
    client: str = ""  # the peer's IP address

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


def is_local(request: Request) -> bool:
    """Whether a request comes from this machine and is addressed to it.

    The peer must be a loopback address (not another machine, even with ``--bind 0.0.0.0``),
    the ``Host`` a loopback name (a page elsewhere cannot reach it by DNS rebinding) and an
    ``Origin``, when a browser sends one, loopback too (no cross-site form or fetch).
    """
    try:
        peer = ipaddress.ip_address(request.client)
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    origin = request.headers.get("origin")
    return (
        peer.is_loopback
        and _names_loopback(urlsplit("//" + request.headers.get("host", "")).hostname)
        and (origin is None or _names_loopback(urlsplit(origin).hostname))
    )


def _names_loopback(hostname: str | None) -> bool:
    if not hostname:
        return False
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def local_only(request: Request, *, json_body: bool = False) -> Response | None:
    """The refusal for a development-only endpoint called from elsewhere, else ``None``.

    ``json_body``: a POST must say ``application/json``, which a browser cannot send
    cross-site without a CORS preflight (that the local host never grants).
    """
    if not is_local(request):
        return Response.json({"error": "forbidden", "error_description": "This development endpoint answers on loopback only."}, 403)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if json_body and request.method == "POST" and content_type != "application/json":
        return Response.json({"error": "unsupported_media_type", "error_description": "Send application/json."}, 415)
    return None


class StandIn(Protocol):
    prefix: str  # e.g. "/_dev/graph"

    def handle(self, request: Request) -> Response: ...


Handler = Callable[[Request], Response]


def _not_found(request: Request) -> Response:
    return Response.json({"error": "not found", "path": request.full_path}, 404)


@dataclass(frozen=True)
class Limits:
    """What one connection may take from the server (defaults: the Functions host's)."""

    max_body_bytes: int = 100 * 1024 * 1024  # the host's HTTP request length limit
    max_url_bytes: int = 4096  # the host's URL length limit
    max_connections: int = 128  # connections served at once; more get 503
    keep_alive_seconds: float = 60.0  # idle time between requests on one connection
    headers_seconds: float = 30.0  # Kestrel's RequestHeadersTimeout (and the TLS handshake)
    body_grace_seconds: float = 5.0  # Kestrel's MinRequestBodyDataRate grace period
    min_body_bytes_per_second: float = 240.0  # and its minimum rate
    send_seconds: float = 30.0  # to write one response


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _DeadlineReader(io.RawIOBase):
    """Socket reads that fail once ``deadline`` (monotonic seconds) has passed, or, while a
    body is read, once fewer bytes have come than the minimum rate asks for (Kestrel's rule)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline = math.inf
        self._rate: tuple[float, float] | None = None  # (when the rate starts to count, bytes per second)
        self._received = 0

    def read_at_min_rate(self, limits: Limits) -> None:
        self._rate = (time.monotonic() + limits.body_grace_seconds, limits.min_body_bytes_per_second)
        self._received = 0
        self.deadline = math.inf

    def read_by(self, deadline: float) -> None:
        self._rate = None
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        deadline = self.deadline
        if self._rate is not None:
            counts_from, rate = self._rate
            deadline = min(deadline, counts_from + self._received / rate)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._sock.settimeout(min(remaining, 3600.0))
        count = self._sock.recv_into(buffer)
        self._received += count
        return count


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], limits: Limits) -> None:
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: Any) -> None:
        """Every connection slot is taken: say so and close, without starting a thread."""
        with contextlib.suppress(OSError):
            if not isinstance(request, ssl.SSLSocket):  # no handshake done: nothing readable to say
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


def make_server(
    standins: Sequence[StandIn],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    fallback: Handler = _not_found,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    limits: Limits | None = None,
) -> ThreadingHTTPServer:
    """Build (not start) a server; port 0 picks a free port (``server.server_address``)."""
    ordered = sorted(standins, key=lambda s: len(s.prefix), reverse=True)
    scheme = "https" if tls_cert else "http"
    lim = limits or Limits()

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "devhost"
        sys_version = ""

        def setup(self) -> None:
            self.connection = self.request
            # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm
            # and the client's delayed ACK add 40 ms to every keep-alive response.
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
            self._reader = _DeadlineReader(self.connection)
            self.rfile = io.BufferedReader(self._reader, 65536)
            self.wfile = self.connection.makefile("wb", 0)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the app logs
            return

        def handle(self) -> None:
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    self.connection.settimeout(lim.headers_seconds)
                    self.connection.do_handshake()
                except (OSError, ValueError):
                    return
            super().handle()

        def handle_one_request(self) -> None:
            # Idle between requests for at most keep_alive_seconds, then the request line and
            # headers must arrive within headers_seconds.
            self._reader.read_by(time.monotonic() + lim.keep_alive_seconds)
            try:
                waiting = self.rfile.peek(1)  # type: ignore[attr-defined]
            except (OSError, ValueError):
                waiting = b""
            if not waiting:
                self.close_connection = True
                return
            self._reader.read_by(time.monotonic() + lim.headers_seconds)
            super().handle_one_request()

        def handle_expect_100(self) -> bool:
            try:
                self._declared_length()
            except _Refused as refused:
                self._refuse(refused)
                return False
            return super().handle_expect_100()

        def _declared_length(self) -> int | None:
            """The body length the headers announce (None: chunked); refuses what Kestrel refuses."""
            encoding = self.headers.get("Transfer-Encoding")
            length = self.headers.get_all("Content-Length") or []
            if encoding is not None:
                if length:
                    raise _Refused(400, "Content-Length and Transfer-Encoding together.")
                if encoding.strip().lower() != "chunked":
                    raise _Refused(400, "Only the chunked transfer coding is supported.")
                return None
            if not length:
                return 0
            if len(set(length)) != 1 or not length[0].strip().isdigit():
                raise _Refused(400, "The Content-Length header is not valid.")
            declared = int(length[0])
            if declared > lim.max_body_bytes:
                raise _Refused(413, f"The request body is larger than {lim.max_body_bytes} bytes.")
            return declared

        def _read(self, size: int) -> bytes:
            data: bytes = self.rfile.read(size)
            if len(data) < size:
                raise _Refused(400, "The connection closed before the request body was complete.")
            return data

        def _readline(self) -> bytes:
            line: bytes = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise _Refused(400, "A chunk header is not valid.")
            return line

        def _body(self) -> bytes:
            declared = self._declared_length()
            self._reader.read_at_min_rate(lim)
            chunks: list[bytes] = []
            received = 0
            if declared is not None:
                while received < declared:
                    chunks.append(self._read(min(65536, declared - received)))
                    received += len(chunks[-1])
                return b"".join(chunks)
            while True:
                digits = self._readline().split(b";")[0].strip()
                if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", digits):
                    raise _Refused(400, "A chunk size is not valid.")
                size = int(digits, 16)
                if size == 0:
                    while self._readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                if received + size > lim.max_body_bytes:
                    raise _Refused(413, f"The request body is larger than {lim.max_body_bytes} bytes.")
                chunks.append(self._read(size))
                received += size
                if self._read(2) != b"\r\n":
                    raise _Refused(400, "A chunk does not end with CRLF.")

        def _refuse(self, refused: _Refused) -> None:
            self.close_connection = True
            self._send(Response.json({"error": refused.reason, "status": refused.status}, refused.status, {"Connection": "close"}))

        def _send(self, response: Response) -> None:
            self.connection.settimeout(lim.send_seconds)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def _dispatch(self) -> None:
            if len(self.path.encode("utf-8", "surrogateescape")) > lim.max_url_bytes:
                self._refuse(_Refused(414, f"The URL is longer than {lim.max_url_bytes} bytes."))
                return
            try:
                body = self._body()
            except _Refused as refused:
                self._refuse(refused)
                return
            except (TimeoutError, OSError, ValueError):
                self._refuse(_Refused(408, "The request body did not arrive in time."))
                return
            self._reader.read_by(math.inf)
            parts = urlsplit(self.path)
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
                raw_query=parts.query,
                client=str(self.client_address[0]),
            )
            try:
                response = handler(request)
            except Exception:  # a stand-in bug must not kill the connection silently
                log.exception("%s %s failed", self.command, parts.path)
                response = Response.json({"error": "stand-in failure"}, 500)
            self._send(response)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    server = _Server((host, port), _Handler, lim)
    if tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls_cert), str(tls_key) if tls_key else None)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    return thread


def base_url_of(server: ThreadingHTTPServer, *, tls: bool = False, host: str = "localhost") -> str:
    return f"{'https' if tls else 'http'}://{host}:{server.server_address[1]}"
