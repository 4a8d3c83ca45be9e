"""Runs a ``FunctionApp`` the way the Functions host would, from its own registrations.

HTTP requests go through the host's route table (``devhost.routing``: function-name order,
first match wins, ``routePrefix`` of host.json, no answer of its own but an empty 404) and
the host's throttles (``maxConcurrentRequests``; beyond ``maxOutstandingRequests`` a 429).
The function sees the query as the host passes it (empty values absent). ``%SETTING%`` in a
trigger resolves from the app settings (the environment) only; one that does not resolve
stops start-up, naming the function and the setting. Timers fire on their NCRONTAB
schedules; queue triggers poll the suite's queue port with ``host.json``'s batch size,
visibility timeout and maxDequeueCount (poison queue). ``POST /admin/functions/{name}`` runs
a timer now, like the Functions admin API (from loopback only; in Azure it needs the master key).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger
from azure.functions.timer import TimerRequest

from devhost.ncrontab import Schedule
from devhost.routing import RouteTable, indexed_functions, query_params
from devhost.standin import Request, Response, is_local
from shared.ports import MessageQueue, QueueMessage, StoreUnavailableError

log = logging.getLogger("devhost")

_SETTING_REF = re.compile(r"%([A-Za-z0-9_]+)%")
UNBOUNDED = 1_000_000


class StartupError(RuntimeError):
    """The host would not run the app as configured; the message says which function and why."""


def resolve_setting_refs(text: str, function_name: str) -> str:
    """``%NAME%`` → the app setting's value, as the Functions host resolves binding values.

    Only app settings count (the environment): a default the suite's own settings would fall
    back to is not seen by the host, so an unset setting stops start-up here as it does there.
    """

    def lookup(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if not value:
            raise StartupError(
                f"the '{function_name}' function is in error: '%{m.group(1)}%' does not resolve to a value;"
                f" set the app setting {m.group(1)}"
            )
        return value

    return _SETTING_REF.sub(lookup, text)


class _DevQueueMessage(func.QueueMessage):
    def __init__(self, message: QueueMessage) -> None:
        super().__init__(id=message.id, body=json.dumps(message.body).encode(), pop_receipt=message.pop_receipt)
        self._dequeue_count = message.dequeue_count

    @property
    def dequeue_count(self) -> int:
        return self._dequeue_count


@dataclass(frozen=True)
class HostConfig:
    batch_size: int = 16
    visibility_timeout: int = 30
    max_dequeue_count: int = 5
    max_polling_interval: float = 2.0
    route_prefix: str = "api"
    max_concurrent_requests: int = UNBOUNDED  # the host's defaults
    max_outstanding_requests: int = UNBOUNDED

    @classmethod
    def from_host_json(cls, path: Path) -> HostConfig:
        extensions = json.loads(path.read_text()).get("extensions", {})
        queues = extensions.get("queues", {})
        http = extensions.get("http", {})
        return cls(
            batch_size=int(queues.get("batchSize", 16)),
            visibility_timeout=_timespan_seconds(queues.get("visibilityTimeout", "00:00:30")),
            max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
            max_polling_interval=min(_timespan_seconds(queues.get("maxPollingInterval", "00:00:02")), 2.0),
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            max_concurrent_requests=_limit(http.get("maxConcurrentRequests")),
            max_outstanding_requests=_limit(http.get("maxOutstandingRequests")),
        )


def _limit(value: Any) -> int:
    """host.json's -1 (or nothing) means unbounded."""
    number = int(value) if value is not None else -1
    return number if number > 0 else UNBOUNDED


def _timespan_seconds(text: str) -> int:
    h, m, s = (float(x) for x in str(text).split(":"))
    return int(h * 3600 + m * 60 + s)


class FunctionHost:
    def __init__(self, app: func.FunctionApp, *, queue: Callable[[], MessageQueue], config: HostConfig) -> None:
        self._queue = queue
        self._config = config
        self.routes = RouteTable.from_app(app, route_prefix=config.route_prefix)
        self.timers: dict[str, tuple[Schedule, Callable[..., Any]]] = {}
        self.queue_triggers: dict[str, tuple[str, Callable[..., Any]]] = {}
        for function in indexed_functions(app):
            trigger = function.get_trigger()
            name = str(function.get_function_name())
            user_function = function.get_user_function()
            if isinstance(trigger, TimerTrigger):
                self.timers[name] = (Schedule(resolve_setting_refs(trigger.schedule, name)), user_function)
            elif isinstance(trigger, QueueTrigger):
                self.queue_triggers[name] = (resolve_setting_refs(trigger.queue_name, name), user_function)
        self._running = threading.BoundedSemaphore(config.max_concurrent_requests)
        self._outstanding = 0
        self._outstanding_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="queue-worker")

    # --- HTTP ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.full_path.lower().startswith("/admin/functions/") and request.method == "POST":
            if not is_local(request):
                return Response(403)
            return self._admin_invoke(request.full_path.rsplit("/", 1)[-1], request)
        found = self.routes.match(request.method, request.full_path)
        if found is None:
            return Response(404)  # the host's own answer: no body
        with self._outstanding_lock:
            if self._outstanding >= self._config.max_outstanding_requests:
                return Response(429)  # host.json maxOutstandingRequests
            self._outstanding += 1
        try:
            with self._running:  # host.json maxConcurrentRequests
                route, params = found
                return self._call(route.name, route.run, request, params)
        finally:
            with self._outstanding_lock:
                self._outstanding -= 1

    @property
    def outstanding(self) -> int:
        """HTTP requests held now: running or waiting for a maxConcurrentRequests slot."""
        return self._outstanding

    def _call(
        self, name: str, run: Callable[[func.HttpRequest], func.HttpResponse], request: Request, route_params: dict[str, str]
    ) -> Response:
        url = f"{request.base_url}{request.full_path}" + (f"?{request.raw_query}" if request.raw_query else "")
        req = func.HttpRequest(
            request.method,
            url,
            headers=dict(request.headers),
            params=query_params(request.query),
            route_params=route_params,
            body=request.body,
        )
        try:
            result = run(req)
        except Exception:  # the Functions host answers an unhandled exception with an empty 500
            log.exception("function %s raised", name)
            return Response(500)
        headers = {k: v for k, v in result.headers.items()}
        if result.mimetype and not any(k.lower() == "content-type" for k in headers):
            charset = (
                f"; charset={result.charset}"
                if result.charset and (result.mimetype.startswith("text/") or "json" in result.mimetype)
                else ""
            )
            headers["Content-Type"] = result.mimetype + charset
        return Response(result.status_code, headers, result.get_body() or b"")

    def _admin_invoke(self, name: str, request: Request) -> Response:
        if name in self.timers:
            self._run_timer(name)
            return Response(202, {})
        return Response.json({"title": "Not found", "status": 404, "detail": f"no timer named {name}"}, 404)

    # --- timers and queues --------------------------------------------------------------------

    def start_background(self) -> None:
        for name in self.timers:
            self._spawn(self._timer_loop, name)
        for name in self.queue_triggers:
            self._spawn(self._queue_loop, name)

    def _spawn(self, target: Callable[[str], None], name: str) -> None:
        thread = threading.Thread(target=target, args=(name,), name=f"trigger-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_timer(self, name: str) -> None:
        _, user_function = self.timers[name]
        try:
            user_function(TimerRequest(past_due=False))
        except Exception:
            log.exception("timer %s failed", name)

    def _timer_loop(self, name: str) -> None:
        schedule, _ = self.timers[name]
        while not self._stop.is_set():
            now = datetime.now(UTC)
            due = schedule.next_after(now)
            if self._stop.wait((due - now).total_seconds()):
                return
            log.info("timer %s fires", name)
            self._run_timer(name)

    def _queue_loop(self, name: str) -> None:
        queue_name, user_function = self.queue_triggers[name]
        idle = 0.05
        while not self._stop.is_set():
            try:
                messages = self._queue().receive(
                    queue_name,
                    max_messages=self._config.batch_size,
                    visibility_timeout=self._config.visibility_timeout,
                    max_dequeue_count=self._config.max_dequeue_count,
                )
            except StoreUnavailableError as exc:  # an outage: one line, not a traceback per poll
                log.warning("receiving from %s failed: the %s is unavailable: %s", queue_name, exc.dependency, exc)
                messages = []
            except Exception:
                log.exception("receiving from %s failed", queue_name)
                messages = []
            if not messages:
                self._stop.wait(idle)
                idle = min(idle * 2, self._config.max_polling_interval)
                continue
            idle = 0.05
            results = self._workers.map(lambda m: self._process(name, user_function, m), messages)
            list(results)

    def _process(self, name: str, user_function: Callable[..., Any], message: QueueMessage) -> None:
        try:
            user_function(_DevQueueMessage(message))
        except StoreUnavailableError as exc:  # left on the queue, retried after the timeout
            log.warning(
                "queue function %s: message %s (dequeue %d) waits: the %s is unavailable",
                name,
                message.id,
                message.dequeue_count,
                exc.dependency,
            )
            return
        except Exception:
            # Left on the queue: visible again after the timeout, poisoned after maxDequeueCount.
            log.exception("queue function %s failed on message %s (dequeue %d)", name, message.id, message.dequeue_count)
            return
        try:
            self._queue().delete(message)
        except Exception:
            log.warning("could not delete message %s of %s; it will be redelivered", message.id, name)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every trigger queue is empty (tests and scripts); True when drained."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._queue().approximate_count(q) == 0 for q, _ in self.queue_triggers.values()):
                time.sleep(0.1)  # let in-flight messages finish
                if all(self._queue().approximate_count(q) == 0 for q, _ in self.queue_triggers.values()):
                    return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._workers.shutdown(wait=True)
