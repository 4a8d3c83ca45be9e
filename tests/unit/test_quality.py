"""The code stays ruff- and mypy-clean, and requirements.txt matches the pinned lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    check = run(str(BIN / "ruff"), "check", ".")
    assert check.returncode == 0, check.stdout
    formatted = run(str(BIN / "ruff"), "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout


def test_mypy_finds_nothing() -> None:
    result = run(str(BIN / "mypy"), "function_app.py", "functions", "shared", "devhost", "bench", "tests")
    assert result.returncode == 0, result.stdout


def test_the_azure_requirements_are_the_locked_runtime_pins() -> None:
    runtime = {
        line.split("==")[0].lower(): line.split("==")[1].split()[0]
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line
    }
    dev = {
        line.split("==")[0].lower(): line.split("==")[1].split()[0]
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if "==" in line
    }
    assert {
        "azure-functions",
        "azure-cosmos",
        "azure-identity",
        "msal",
        "pydantic",
        "pydantic-settings",
        "pyjwt",
        "httpx",
        "azure-storage-queue",
    } <= runtime.keys()
    assert {name: version for name, version in dev.items() if name in runtime} == runtime  # one source of truth
    assert not {"pytest", "hypothesis", "schemathesis", "playwright"} & runtime.keys()  # nothing for tests ships to Azure


def test_the_locks_name_no_package_index_of_the_machine_they_were_locked_on() -> None:
    """Azure's build resolves requirements.txt from PyPI: a local index or wheel folder in it breaks the deployment."""
    options = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host", "--no-index")
    for name in ("requirements.txt", "requirements-dev.txt", "infra/checkov-requirements.txt"):
        lines = [line.strip() for line in (ROOT / name).read_text().splitlines()]
        assert [line for line in lines if line.split(" ")[0].split("=")[0] in options or "://" in line] == [], name
    lock = [line for line in (ROOT / "Makefile").read_text().splitlines() if "piptools compile" in line]
    assert len(lock) == 3 and all("--no-emit-index-url" in line and "--no-emit-find-links" in line for line in lock)


def test_the_committed_openapi_document_is_current() -> None:
    result = run(sys.executable, "-m", "functions.openapi", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_function_app_loads_no_heavy_sdk() -> None:
    """Cold start: adapters load their SDKs on first use, not when the worker indexes the app."""
    heavy = ["azure.cosmos", "azure.storage.queue", "azure.identity", "msal", "httpx", "opentelemetry", "azure.monitor.opentelemetry"]
    code = f"import sys, function_app; print([m for m in {heavy!r} if m in sys.modules])"
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
