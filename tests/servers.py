"""The real protocol servers the tests and benchmarks talk to, started from node_modules.

``make test`` installs them (``npm ci``); a missing server is an error, never a skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"
# The well-known development keys of the Cosmos DB emulator and Azurite (public, not secrets).
COSMOS_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; run `make install` (npm ci)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f} s")


def _binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make install` (it runs `npm ci`)")
    return str(path)


@contextmanager
def _process(name: str, command: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            env={**os.environ, "NODE_NO_WARNINGS": "1", "NODE_PATH": str(ROOT / "node_modules")},
        )
        try:
            _wait_for_port(port, process, name)
            yield process
        finally:
            os.kill(process.pid, signal.SIGCONT)  # a fault test may have left it paused
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass(frozen=True)
class CosmosServer:
    endpoint: str
    key: str = COSMOS_KEY
    pid: int = 0  # fault tests pause it (SIGSTOP/SIGCONT)


@dataclass(frozen=True)
class AzuriteServer:
    connection_string: str
    pid: int = 0


@contextmanager
def cosmos_server(workdir: Path) -> Iterator[CosmosServer]:
    """``@vercel/cosmosdb-server`` over HTTPS (self-signed: clients set connection_verify=False)."""
    port = free_port()
    _binary("cosmosdb-server")  # installed by npm ci
    command = ["node", str(ROOT / "tests" / "cosmosdb-server.js"), "--port", str(port)]
    with _process("cosmosdb-server", command, port, workdir / "cosmosdb-server.log") as process:
        yield CosmosServer(f"https://localhost:{port}", pid=process.pid)


@contextmanager
def azurite_server(workdir: Path) -> Iterator[AzuriteServer]:
    port = free_port()
    command = [
        _binary("azurite-queue"),
        "--queueHost",
        "127.0.0.1",
        "--queuePort",
        str(port),
        "--inMemoryPersistence",
        "--disableTelemetry",
        "--skipApiVersionCheck",
    ]
    with _process("azurite", command, port, workdir / "azurite.log") as process:
        yield AzuriteServer(
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"QueueEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};",
            pid=process.pid,
        )
