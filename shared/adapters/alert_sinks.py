"""Where alerts go: a Logic App's Request trigger (webhook) or a Storage queue it reads.

Both receive the same CloudEvents 1.0 structured JSON event. ``deliver`` returns normally on
success and raises ``DeliveryError`` (with a secret-free reason) otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.ports import DeliveryError, MessageQueue


class WebhookSink:
    """HTTP POST as a Logic App's Request trigger receives it; any 2xx is delivered.

    The body is the CloudEvents JSON format sent as ``application/json``: the Request trigger
    parses only that media type into ``triggerBody()``; ``application/cloudevents+json`` would
    reach the workflow as base64 ``$content`` that its schema cannot read.
    """

    name = "webhook"

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        import httpx

        self._url = url
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def deliver(self, event: Mapping[str, Any]) -> None:
        import httpx

        try:
            response = self._client.post(
                self._url,
                content=json.dumps(event).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered {response.status_code}")

    def close(self) -> None:
        self._client.close()


class QueueSink:
    """A Storage queue read by a Logic App's "When a message is available in a queue" trigger."""

    name = "queue"

    def __init__(self, queue: MessageQueue, queue_name: str) -> None:
        self._queue = queue
        self._queue_name = queue_name

    def deliver(self, event: Mapping[str, Any]) -> None:
        try:
            self._queue.send(self._queue_name, event)
        except Exception as exc:
            raise DeliveryError(f"queue {self._queue_name} unavailable: {type(exc).__name__}") from None
