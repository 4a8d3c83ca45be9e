"""Telemetry set-up: the Azure Monitor distro only with a connection string, and the
correlation id on every log line of an invocation."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from shared import telemetry
from shared.logs import RedactingFilter

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, sys, function_app\n"
    "from opentelemetry import trace\n"
    "print(json.dumps({'distro': 'azure.monitor.opentelemetry' in sys.modules, 'otel': 'opentelemetry' in sys.modules,"
    " 'provider': type(trace.get_tracer_provider()).__module__}))\n"
)


def probe(tmp_path: Path, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_distro_is_imported_and_configured_only_with_a_connection_string(tmp_path: Path) -> None:
    assert probe(tmp_path) == {"distro": False, "otel": True, "provider": "opentelemetry.trace"}  # (imported by the probe)
    configured = probe(
        tmp_path,
        APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        "IngestionEndpoint=https://127.0.0.1:9/",
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
    )
    assert configured["distro"] is True
    assert configured["provider"].startswith("opentelemetry.sdk.trace")


def test_every_log_line_of_an_invocation_carries_its_correlation_id() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("competency.test-correlation")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with telemetry.invocation("evaluate-partner process", kind="consumer", cid="cid-12345678") as span:
            logger.info("evaluating")
            assert span is not None
        logger.info("between invocations")
    finally:
        logger.removeHandler(handler)
    assert [getattr(r, "correlation_id", None) for r in seen] == ["cid-12345678", "-"]
