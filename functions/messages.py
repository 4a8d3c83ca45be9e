"""How every queue-triggered function runs its message: one place for the poison rules.

A message that can never succeed (not JSON, a malformed field: ``InvalidMessage``) is logged
with its identity and dropped at once; any other failure is raised so that the host retries
it, and the last attempt says so before the host moves the message to ``<queue>-poison``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import azure.functions as func

from shared.ports import InvalidMessage, poison_queue_name

log = logging.getLogger("competency.messages")

MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount


def run_message(queue: str, msg: func.QueueMessage, work: Callable[[object], object], context: func.Context | None = None) -> None:
    """Run ``work`` on the message's body in the message's own span, continuing the host's
    trace (``context`` is the host's invocation context; the local host passes none)."""
    from shared.telemetry import queue_message

    with queue_message(queue, msg, context, max_dequeue_count=MAX_DEQUEUE_COUNT):
        _run(queue, msg, work)


def _run(queue: str, msg: func.QueueMessage, work: Callable[[object], object]) -> None:
    identity = f"queue={queue} id={msg.id} dequeueCount={msg.dequeue_count}"
    try:
        body = msg.get_json()
    except ValueError:
        log.error("dropping message %s: its body is not JSON", identity)
        return
    if isinstance(body, dict):
        named = " ".join(f"{k}={body[k]}" for k in ("partnerId", "importId", "alertId") if isinstance(body.get(k), str))
        identity += f" {named}" if named else ""
    try:
        work(body)
    except InvalidMessage as exc:
        log.error("dropping invalid message %s: %s", identity, exc)
    except Exception:
        if (msg.dequeue_count or 0) >= MAX_DEQUEUE_COUNT:
            log.error("message %s failed on its last attempt; it goes to %s", identity, poison_queue_name(queue))
        raise
