"""What ``/api/health`` reports: the app answers, whether messages wait in poison queues,
and configuration an operator must fix.

A message in ``<queue>-poison`` failed every attempt (the host parked it): the status is
``degraded`` until an operator has looked at it, so nothing is poisoned silently. Without an
alert sink no alert can be delivered: also ``degraded``, with the reason under ``warnings``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from shared.api_models import ApiOut, Omitted
from shared.ports import MessageQueue, StoreUnavailableError, poison_queue_name
from shared.queues import TRIGGER_QUEUES
from shared.settings import Settings

log = logging.getLogger("competency.health")

NO_SINK_WARNING = "No alert sink is configured (ALERTS_WEBHOOK_URL or ALERTS_QUEUE_NAME): alerts stay undelivered."


class HealthOut(ApiOut):  # health_report's answer
    """Whether the suite can work: poison messages, dependencies, configuration."""

    status: Literal["ok", "degraded"]
    poison_messages: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description="Messages in each <queue>-poison queue; any is degraded (they need an operator)"
    )
    unavailable: list[str] | Omitted = Field(default=None, description="Dependencies that did not answer")
    warnings: list[str] | Omitted = Field(default=None, description="Configuration an operator must fix")


def health_report(queue: Callable[[], MessageQueue], settings: Settings) -> dict[str, Any]:
    """``queue`` is asked for inside the check: a queue that cannot even be built is reported."""
    poison: dict[str, int] = {}
    unavailable: list[str] = []
    try:
        queues = queue()
        for name in TRIGGER_QUEUES:
            poison[poison_queue_name(name)] = queues.approximate_count(poison_queue_name(name))
    except StoreUnavailableError as exc:
        unavailable.append(exc.dependency)
    warnings = []
    if not (settings.alerts_webhook_url or settings.alerts_queue_name):
        warnings.append(NO_SINK_WARNING)
    degraded = unavailable or any(poison.values()) or warnings
    report = HealthOut(
        status="degraded" if degraded else "ok", poison_messages=poison, unavailable=unavailable or None, warnings=warnings or None
    )
    if any(poison.values()):
        log.warning("poison messages waiting: %s", {k: v for k, v in poison.items() if v})
    return report.model_dump(by_alias=True, mode="json", exclude_none=True)
