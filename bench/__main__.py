"""``python -m bench [--quick]``: every benchmark in one run, results in bench/results.json.

Figures are counts and ratios against a baseline measured in the same run wherever possible:
absolute times on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"

GOALS = {
    "evaluation.store_requests_per_partner": ("<=", 2),
    "evaluation.first_night_store_requests_per_partner": ("<=", 2),
    "evaluation.ratio_to_raw_scan": ("<=", 1.5),
    "evaluation.first_night_ratio_to_raw_scan": ("<=", 2.0),
    "scaling.per_partner_cost_ratio_largest_to_smallest": ("<=", 1.2),
    "coldstart.import_ms_over_azure_functions": ("<=", 150),
    "add_users.graph_requests_per_1000": ("<=", 60),
    "add_users.speedup_vs_sequential": (">=", 5),
    "http.competencies_p99_ms": ("<=", 100),
    "scaling.per_document_cost_ratio_largest_to_smallest": ("<=", 1.5),
}


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="a reduced run (about a minute)")
    parser.add_argument("--skip-cosmos", action="store_true", help="leave out the Cosmos protocol server run")
    args = parser.parse_args()
    quick = args.quick
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    from bench import add_users, coldstart, evaluation, http

    results: dict[str, Any] = {"mode": "quick" if quick else "full", "machine": machine(), "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        progress("cold start")
        results["coldstart"] = coldstart.measure(runs=5 if quick else 15)
        progress(f"cold start: {results['coldstart']['import_ms_over_azure_functions']} ms over azure.functions")
        progress("nightly evaluation")
        partners = 300 if quick else 2000
        results["evaluation"] = evaluation.nightly(work / "nightly", partners=partners, employees=50, achievements=3, progress=progress)
        progress("scaling curve")
        results["scaling"] = evaluation.per_partner_cost(work / "scaling", [10, 100, 1000], repeats=3 if quick else 10, progress=progress)
        progress("scaling in partners")
        sizes = [1000, 10000] if quick else [1000, 10000, 100000]
        results["scaling"] |= evaluation.by_partners(work / "partners", sizes, sample=100 if quick else 300, repeats=3, progress=progress)
        if not args.skip_cosmos:
            from tests.servers import cosmos_server

            with cosmos_server(work / "cosmos") as server:
                results["evaluation"]["cosmos"] = evaluation.cosmos_requests(
                    server.endpoint, server.key, partners=3 if quick else 20, employees=10 if quick else 20, progress=progress
                )
        progress("bulk provisioning")
        results["add_users"] = add_users.measure(users=1000, sequential_sample=40 if quick else 1000, progress=progress)
        progress("HTTP")
        results["http"] = http.measure(work / "http", clients=20, seconds=5 if quick else 20, progress=progress)

    from bench import cost

    results["cost"] = cost.model(results)  # per night at 1,000 / 40,000 / 400,000 partners (bench/README.md)
    verdicts = {}
    for key, (op, goal) in GOALS.items():
        section, name = key.split(".", 1)
        value = results[section][name]
        verdicts[key] = {"value": value, "goal": f"{op} {goal}", "met": value <= goal if op == "<=" else value >= goal}
    results["goals"] = verdicts
    results["goals_met"] = all(v["met"] for v in verdicts.values()) and not results["coldstart"]["heavy_sdks_imported"]
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    progress(f"wrote {RESULTS}")
    for key, verdict in verdicts.items():
        print(f"  {'ok ' if verdict['met'] else 'MISS'} {key} = {verdict['value']} (goal {verdict['goal']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
