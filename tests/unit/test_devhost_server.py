"""The local host's HTTP server is never deployed, but it must not be easier to hurt than the
Functions host: development endpoints for this machine only, the host's body and URL limits,
and no connection (a stalled upload, a stalled TLS handshake, an idle keep-alive) holding a
thread without bound."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.entra import EntraStandIn, TokenIssuer
from devhost.graph import GraphStandIn
from devhost.standin import Limits, Request, Response, make_server, serve_in_thread
from devhost.tls import ensure_certificates


class Echo:
    prefix = "/echo"

    def __init__(self) -> None:
        self.calls = 0

    def handle(self, request: Request) -> Response:
        self.calls += 1
        return Response.json({"length": len(request.body), "client": request.client, "body": request.body[:40].decode("latin-1")})


@contextmanager
def serving(*standins: Any, limits: Limits | None = None, tls: Any = None) -> Iterator[int]:
    server = make_server(list(standins), port=0, limits=limits, tls_cert=tls.cert if tls else None, tls_key=tls.key if tls else None)
    serve_in_thread(server)
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or 5 s pass)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def status_of(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


# --- development endpoints: this machine only -----------------------------------------------


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> TokenIssuer:
    return TokenIssuer(tmp_path_factory.mktemp("entra") / "key.pem")


def test_the_token_mint_answers_this_machine_only(issuer: TokenIssuer) -> None:
    with serving(EntraStandIn(issuer)) as port:
        url = f"http://localhost:{port}/_dev/entra/token"
        assert httpx.post(url, json={"tenant": "t"}).status_code == 200
        assert httpx.post(url, json={"tenant": "t"}, headers={"Origin": f"http://localhost:{port}"}).status_code == 200
        # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
        assert httpx.post(url, json={"tenant": "t"}, headers={"Host": "evil.example"}).status_code == 403
        # A page elsewhere posting cross-site (fetch or form) carries its Origin, or cannot send JSON.
        assert httpx.post(url, json={"tenant": "t"}, headers={"Origin": "https://evil.example"}).status_code == 403
        assert httpx.post(url, content=b'{"tenant":"t"}', headers={"Content-Type": "text/plain"}).status_code == 415
        # The signing keys stay public: the app (and anyone) validates tokens with them.
        assert httpx.get(f"http://localhost:{port}/_dev/entra/discovery/v2.0/keys", headers={"Host": "evil.example"}).status_code == 200

    # Another machine, with the host bound to all addresses: the peer is not loopback.
    def mint(client: str) -> int:
        headers = {"host": "localhost:7071", "content-type": "application/json"}
        request = Request("POST", "/token", {}, headers, b'{"tenant":"t"}', "http://localhost:7071", client=client)
        return EntraStandIn(issuer).handle(request).status

    assert mint("192.0.2.7") == 403
    assert mint("::ffff:192.0.2.7") == 403
    assert mint("") == 403
    assert (mint("127.0.0.1"), mint("::1"), mint("::ffff:127.0.0.1")) == (200, 200, 200)


def test_graph_fault_injection_answers_this_machine_only() -> None:
    graph = GraphStandIn()
    with serving(graph) as port:
        base = f"http://127.0.0.1:{port}/_dev/graph"
        assert httpx.get(f"{base}/faults").status_code == 200
        assert httpx.post(f"{base}/faults", json={"throttleRate": 0.5}).status_code == 200
        assert graph.throttle_rate == 0.5
        refused = [
            httpx.post(f"{base}/faults", json={"throttleRate": 1.0}, headers={"Host": "evil.example"}),
            httpx.post(f"{base}/faults", json={"throttleRate": 1.0}, headers={"Origin": "http://evil.example"}),
            httpx.post(f"{base}/faults", data={"throttleRate": "1.0"}),  # a cross-site form's encoding
            httpx.post(f"{base}/reset", headers={"Origin": "http://evil.example"}),
            httpx.get(f"{base}/stats", headers={"Host": "evil.example"}),
        ]
        assert [r.status_code for r in refused] == [403, 403, 415, 403, 403]
        assert graph.throttle_rate == 0.5  # nothing changed
    headers = {"host": "localhost", "content-type": "application/json"}
    assert graph.handle(Request("POST", "/faults", {}, headers, b"{}", "http://x", client="198.51.100.1")).status == 403


def test_the_server_tells_the_handler_who_is_calling() -> None:
    with serving(Echo()) as port:
        assert httpx.get(f"http://127.0.0.1:{port}/echo").json()["client"] == "127.0.0.1"


# --- the host's size limits -------------------------------------------------------------------


def test_bodies_over_the_cap_are_refused_before_they_are_read() -> None:
    echo = Echo()
    with serving(echo, limits=Limits(max_body_bytes=1000)) as port:
        url = f"http://127.0.0.1:{port}/echo"
        assert httpx.post(url, content=b"x" * 1000).json()["length"] == 1000
        # Only the headers are sent: the answer comes at once and the body is never read.
        sock = raw(port)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1001\r\n\r\n")
        assert status_of(answer(sock)) == 413
        with_continue = raw(port)
        with_continue.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        assert status_of(answer(with_continue)) == 413  # no "100 Continue" first
        # Chunked bodies count as they come.
        assert httpx.post(url, content=iter([b"a" * 400, b"b" * 400])).json() == {"length": 800, "client": "127.0.0.1", "body": "a" * 40}
        assert httpx.post(url, content=iter([b"a" * 600, b"b" * 600])).status_code == 413
        calls = echo.calls
        for head in (
            b"Content-Length: 5\r\nTransfer-Encoding: chunked",  # smuggling's favourite
            b"Content-Length: -1",
            b"Content-Length: 5\r\nContent-Length: 6",
            b"Transfer-Encoding: gzip",
        ):
            sock = raw(port)
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\n" + head + b"\r\n\r\nhello")
            assert status_of(answer(sock)) == 400, head
        sock = raw(port)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n")
        assert status_of(answer(sock)) == 400
        assert echo.calls == calls


def test_by_default_the_limits_are_the_functions_hosts() -> None:
    # 100 MB of body (104,857,600 bytes) and 4 KB of URL, as the Functions host allows.
    with serving(Echo()) as port:
        sock = raw(port)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 104857601\r\n\r\n")
        assert status_of(answer(sock)) == 413
        url = f"http://127.0.0.1:{port}/echo?q="
        assert httpx.get(url + "x" * (4096 - len("/echo?q="))).status_code == 200
        assert httpx.get(url + "x" * (4097 - len("/echo?q="))).status_code == 414


# --- connections cannot hold threads without bound -----------------------------------------------

FAST = Limits(max_connections=2, keep_alive_seconds=0.6, headers_seconds=0.6, body_grace_seconds=0.3, min_body_bytes_per_second=1000)


def test_a_stalled_upload_gives_its_thread_back() -> None:
    echo = Echo()
    with serving(echo, limits=FAST) as port:
        started = time.monotonic()
        stalled = raw(port)
        stalled.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n0123456789")
        assert status_of(answer(stalled)) == 408
        assert time.monotonic() - started < 2
        # A trickle (10 bytes a second, far below the minimum rate) is cut off the same way.
        trickle = raw(port)
        trickle.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n")
        started = time.monotonic()
        with pytest.raises(OSError):
            while time.monotonic() - started < 3:
                trickle.sendall(b"x")
                time.sleep(0.1)
        assert time.monotonic() - started < 2
        assert echo.calls == 0
        assert httpx.post(f"http://127.0.0.1:{port}/echo", content=b"ok").json()["length"] == 2


def test_stalled_headers_and_idle_connections_are_closed() -> None:
    with serving(Echo(), limits=FAST) as port:
        started = time.monotonic()
        half = raw(port)
        half.sendall(b"GET /echo HTTP/1.1\r\nHost: loc")  # and never the rest
        idle = raw(port)  # connects and says nothing
        assert answer(half) == b"" and answer(idle) == b""
        assert time.monotonic() - started < 2


def test_connections_beyond_the_bound_get_503_without_a_thread() -> None:
    with serving(Echo(), limits=FAST) as port:
        threads = threading.active_count()
        held = []
        for _ in range(2):  # two keep-alive connections, served and now idle
            sock = raw(port)
            sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert status_of(sock.recv(65536)) == 200
            held.append(sock)
        third = raw(port)
        assert answer(third).startswith(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1")
        assert threading.active_count() <= threads + 2
        time.sleep(FAST.keep_alive_seconds + 0.2)  # the idle ones time out and free their slots
        assert httpx.get(f"http://127.0.0.1:{port}/echo").status_code == 200
        for sock in held:
            sock.close()


def test_a_stalled_tls_handshake_blocks_no_one(tmp_path: Path) -> None:
    tls = ensure_certificates(tmp_path / "tls")
    with serving(Echo(), limits=Limits(headers_seconds=0.6), tls=tls) as port:
        stalled = raw(port)  # TCP connected, no ClientHello
        started = time.monotonic()
        context = ssl.create_default_context(cafile=str(tls.ca))
        response = httpx.get(f"https://localhost:{port}/echo", verify=context, timeout=3)
        assert response.status_code == 200 and json.loads(response.content)["length"] == 0
        assert time.monotonic() - started < 1.5
        assert answer(stalled) == b""  # closed after the headers deadline
