"""The night's cost and duration at program scale, from a run's measured per-partner figures.

``python -m bench.cost`` prints the table of bench/README.md ("Cost and duration at program
scale") from bench/results.json; ``make bench`` stores the same figures under ``cost``.
Prices are assumptions (pay-as-you-go, US regions, as published on 2025-05): check the
pricing pages before relying on them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RU_PRICE_PER_MILLION = 0.25  # Cosmos DB serverless
EXECUTION_PRICE_PER_MILLION = 0.40  # Flex Consumption on demand, before the free grant
GB_SECOND_PRICE = 0.000026
INSTANCE_GB = 2.0  # 2,048 MB instances
QUEUE_OPERATION_PRICE = 0.004 / 10_000
APP_INSIGHTS_PRICE_PER_GB = 2.30
TELEMETRY_ITEM_KB = 0.7  # one request or dependency item, no sampling
QUEUE_OPERATIONS_PER_MESSAGE = 2 + 1 / 16  # put, delete, and a get per batch of 16
PARTNER_COUNTS = (1_000, 40_000, 400_000)


def night(results: dict[str, Any], which: str, partners: int) -> dict[str, float]:
    """One night of ``partners``: ``which`` is ``first_night`` (every partner computed, every
    alert new: the first night, or any night after a catalog change) or ``night_2``."""
    evaluation = results["evaluation"]
    first = which == "first_night"
    ru = evaluation["request_units"][which]
    dispatches = ru["queue_messages_sent"]  # alert dispatch messages per partner
    alerts = ru.get("creates", 0.0)  # new alerts per partner (the only documents created)
    cpu_ms = evaluation["first_night_cpu_ms_per_partner" if first else "cpu_ms_per_partner"]
    reads = evaluation["first_night_store_requests_per_partner" if first else "store_requests_per_partner"]
    executions = 1 + dispatches
    # Telemetry: a request per execution; a dependency per store and queue call and per
    # delivery (an alert's delivery reads and replaces it and calls the sink).
    items = executions + reads + ru["write_requests"] + 1 + dispatches + 3 * max(0.0, alerts)
    figures = {
        "request_units": ru["request_units"] * partners,
        "executions": executions * partners,
        "gb_seconds": cpu_ms / 1000 * INSTANCE_GB * partners,
        "queue_operations": executions * QUEUE_OPERATIONS_PER_MESSAGE * partners,
        "app_insights_gb": items * TELEMETRY_ITEM_KB * partners / 2**20,
    }
    figures["dollars"] = (
        figures["request_units"] / 1e6 * RU_PRICE_PER_MILLION
        + figures["executions"] / 1e6 * EXECUTION_PRICE_PER_MILLION
        + figures["gb_seconds"] * GB_SECOND_PRICE
        + figures["queue_operations"] * QUEUE_OPERATION_PRICE
        + figures["app_insights_gb"] * APP_INSIGHTS_PRICE_PER_GB
    )
    for throughput in (10_000, 40_000):
        figures[f"minutes_at_{throughput}_ru_per_s"] = figures["request_units"] / throughput / 60
    return figures


def model(results: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        which: {str(partners): {k: round(v, 3) for k, v in night(results, which, partners).items()} for partners in PARTNER_COUNTS}
        for which in ("night_2", "first_night")
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        "| night | partners | RU per night | executions | GB-s | queue operations | App Insights | ≈ $ per night "
        "| minutes at 10,000 RU/s | at 40,000 RU/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for which, name in (("night_2", "steady"), ("first_night", "first")):
        for partners in PARTNER_COUNTS:
            f = night(results, which, partners)
            gb = f["app_insights_gb"]
            rows.append(
                f"| {name} | {partners:,} | {f['request_units'] / 1e6:.2f} M | {f['executions']:,.0f} | {f['gb_seconds']:,.0f} "
                f"| {f['queue_operations']:,.0f} | {gb * 1024:.0f} MB | {f['dollars']:.2f} "
                f"| {f['minutes_at_10000_ru_per_s']:.1f} | {f['minutes_at_40000_ru_per_s']:.1f} |"
                if gb < 1
                else f"| {name} | {partners:,} | {f['request_units'] / 1e6:.1f} M | {f['executions']:,.0f} | {f['gb_seconds']:,.0f} "
                f"| {f['queue_operations']:,.0f} | {gb:.1f} GB | {f['dollars']:.2f} "
                f"| {f['minutes_at_10000_ru_per_s']:.0f} | {f['minutes_at_40000_ru_per_s']:.0f} |"
            )
    return "\n".join(rows)


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results.json"
    print(table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
