"""What ``/api/health`` reports: the app answers, and whether messages wait in poison queues.

A message in ``<queue>-poison`` failed every attempt (the host parked it): the status is
``degraded`` until an operator has looked at it, so nothing is poisoned silently.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.bootstrap import container
from shared.ports import StoreUnavailableError, poison_queue_name
from shared.queues import TRIGGER_QUEUES

log = logging.getLogger("competency.health")


def health_report() -> dict[str, Any]:
    poison: dict[str, int] = {}
    unavailable: list[str] = []
    try:
        queue = container().queue
        for name in TRIGGER_QUEUES:
            poison[poison_queue_name(name)] = queue.approximate_count(poison_queue_name(name))
    except StoreUnavailableError as exc:
        unavailable.append(exc.dependency)
    report: dict[str, Any] = {"status": "degraded" if unavailable or any(poison.values()) else "ok", "poisonMessages": poison}
    if unavailable:
        report["unavailable"] = unavailable
    if any(poison.values()):
        log.warning("poison messages waiting: %s", {k: v for k, v in poison.items() if v})
    return report
