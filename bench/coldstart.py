"""Cold start: the import time of function_app over a bare ``import azure.functions``,
median of fresh processes, and which heavy SDKs the import pulled in (none, by design)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HEAVY = [
    "azure.cosmos",
    "azure.storage.queue",
    "azure.identity",
    "msal",
    "httpx",
    "cryptography.hazmat.backends.openssl",
    "opentelemetry",
    "azure.monitor.opentelemetry",
]
_PROBE = """
import json, sys, time
started = time.perf_counter()
import azure.functions
base = time.perf_counter()
{extra}
done = time.perf_counter()
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"base_ms": (base - started) * 1000, "app_ms": (done - base) * 1000, "heavy": heavy}}))
"""


def _run(extra: str) -> dict[str, Any]:
    code = _PROBE.format(extra=extra, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": "/tmp/coldstart"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, Any]:
    app = [_run("import function_app") for _ in range(runs)]
    return {
        "runs": runs,
        "import_ms_over_azure_functions": round(statistics.median(r["app_ms"] for r in app), 1),
        "azure_functions_import_ms": round(statistics.median(r["base_ms"] for r in app), 1),
        "heavy_sdks_imported": sorted({m for r in app for m in r["heavy"]}),
    }
