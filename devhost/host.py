"""Runs a ``FunctionApp`` the way the Functions host would, from its own registrations.

HTTP triggers are matched by their route templates (literal segments before parameters,
catch-all last, as ASP.NET routing orders them); timers fire on their NCRONTAB schedules;
queue triggers poll the suite's queue port with ``host.json``'s batch size, visibility
timeout and maxDequeueCount (poison queue). ``POST /admin/functions/{name}`` runs a
non-HTTP function now, like the Functions admin API.
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
from urllib.parse import unquote, urlencode

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger
from azure.functions.timer import TimerRequest

from devhost.ncrontab import Schedule
from devhost.standin import Request, Response
from functions.http import route_regex
from shared.ports import MessageQueue, QueueMessage, StoreUnavailableError

log = logging.getLogger("devhost")

_SETTING_REF = re.compile(r"%([A-Za-z0-9_]+)%")


def resolve_setting_refs(text: str) -> str:
    """``%NAME%`` → the app setting's value, as the Functions host does for binding values."""

    def lookup(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            from shared.settings import get_settings

            value = str(getattr(get_settings(), m.group(1).lower(), "") or "")
        if not value:
            raise ValueError(f"the app setting {m.group(1)} is not set")
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
class HttpRoute:
    name: str
    template: str
    methods: frozenset[str]
    regex: re.Pattern[str]
    run: Callable[[func.HttpRequest], func.HttpResponse]

    @property
    def precedence(self) -> tuple[int, int, int]:
        parts = self.template.strip("/").split("/")
        catch_all = any(p.startswith("{*") for p in parts)
        literals = sum(1 for p in parts if not p.startswith("{"))
        return (1 if catch_all else 0, -literals, -len(parts))


@dataclass(frozen=True)
class HostConfig:
    batch_size: int = 16
    visibility_timeout: int = 30
    max_dequeue_count: int = 5
    max_polling_interval: float = 2.0

    @classmethod
    def from_host_json(cls, path: Path) -> HostConfig:
        queues = json.loads(path.read_text()).get("extensions", {}).get("queues", {})
        return cls(
            batch_size=int(queues.get("batchSize", 16)),
            visibility_timeout=_timespan_seconds(queues.get("visibilityTimeout", "00:00:30")),
            max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
            max_polling_interval=min(_timespan_seconds(queues.get("maxPollingInterval", "00:00:02")), 2.0),
        )


def _timespan_seconds(text: str) -> int:
    h, m, s = (float(x) for x in str(text).split(":"))
    return int(h * 3600 + m * 60 + s)


class FunctionHost:
    def __init__(self, app: func.FunctionApp, *, queue: Callable[[], MessageQueue], config: HostConfig) -> None:
        self._queue = queue
        self._config = config
        self.routes: list[HttpRoute] = []
        self.timers: dict[str, tuple[Schedule, Callable[..., Any]]] = {}
        self.queue_triggers: dict[str, tuple[str, Callable[..., Any]]] = {}
        for function in app.get_functions():
            trigger = function.get_trigger()
            name = str(function.get_function_name())
            user_function = function.get_user_function()
            if isinstance(trigger, HttpTrigger):
                methods = frozenset(str(getattr(m, "value", m)).upper() for m in (trigger.methods or ("GET", "POST")))
                route = trigger.route or name
                self.routes.append(HttpRoute(name, route, methods, route_regex(route), user_function))
            elif isinstance(trigger, TimerTrigger):
                self.timers[name] = (Schedule(resolve_setting_refs(trigger.schedule)), user_function)
            elif isinstance(trigger, QueueTrigger):
                self.queue_triggers[name] = (resolve_setting_refs(trigger.queue_name), user_function)
        self.routes.sort(key=lambda r: r.precedence)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="queue-worker")

    # --- HTTP ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.full_path.startswith("/admin/functions/") and request.method == "POST":
            return self._admin_invoke(request.full_path.rsplit("/", 1)[-1], request)
        if not (request.full_path == "/api" or request.full_path.startswith("/api/")):
            return Response.json({"title": "Not found", "status": 404, "detail": "Functions are served under /api/."}, 404)
        sub_path = "/" + request.full_path[len("/api") :].strip("/")
        for route in self.routes:
            match = route.regex.match(sub_path)
            if match and request.method in route.methods:
                params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                return self._call(route, request, params)
        return Response.json({"title": "Not found", "status": 404}, 404)

    def _call(self, route: HttpRoute, request: Request, route_params: dict[str, str]) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        url = f"{request.base_url}{request.full_path}" + (f"?{urlencode(query)}" if query else "")
        req = func.HttpRequest(
            request.method, url, headers=dict(request.headers), params=query, route_params=route_params, body=request.body
        )
        try:
            result = route.run(req)
        except Exception:  # the Functions host answers 500 for an unhandled exception
            log.exception("function %s raised", route.name)
            return Response(500, {"Content-Type": "application/problem+json"}, b'{"title":"Internal error","status":500}')
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
