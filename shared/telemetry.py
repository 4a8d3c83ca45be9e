"""Traces and metrics through OpenTelemetry; exported to Application Insights in Azure.

- ``configure_telemetry`` imports and configures the Azure Monitor distro only when
  ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set (cold start: nothing is imported otherwise,
  and without a configured provider every span and counter below is a no-op).
- ``invocation`` opens the one span of an HTTP request, queue message or timer run,
  continuing the host's trace context (``context.trace_context`` in Azure, the W3C
  ``traceparent`` header otherwise) and carrying the invocation's correlation id.
- ``span`` and ``traced`` put spans around calls to the store, the queue, Graph, MSAL and the
  alert sinks; ``count`` adds to the suite's counters (``METRICS``).

Attributes hold names, ids, counts and statuses only; never a token, password, secret or
URL (a Logic App URL carries its SAS signature).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from shared.logs import correlation_id, new_correlation_id

if TYPE_CHECKING:
    import azure.functions as func
    from opentelemetry.context import Context
    from opentelemetry.metrics import Counter, MeterProvider
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from shared.settings import Settings

T = TypeVar("T")

# A span attribute's value: the scalars the suite records (never a sequence).
Attribute = str | bool | int | float

log = logging.getLogger("competency.telemetry")

NAME = "competency-suite"
CORRELATION_ATTRIBUTE = "competency.correlation_id"

# name → (description, unit); every counter the suite adds to.
METRICS: dict[str, tuple[str, str]] = {
    "competency.partners.evaluated": ("Partner evaluations computed", "{partner}"),
    "competency.levels.gained": ("Competency levels newly achieved by an evaluation", "{level}"),
    "competency.levels.lost": ("Competency levels no longer achieved after an evaluation", "{level}"),
    "competency.alerts.raised": ("Alerts raised (stored for delivery)", "{alert}"),
    "competency.alerts.delivered": ("Alerts delivered to every sink", "{alert}"),
    "competency.alerts.failed": ("Alerts failed after the last attempt", "{alert}"),
    "competency.import.rows": ("Rows of add-users imports by final status", "{row}"),
    "competency.graph.throttled": ("Microsoft Graph answers 429 (throttled)", "{response}"),
    "competency.queue.poison": ("Queue messages that failed their last delivery (poisoned)", "{message}"),
}

_counters: dict[str, Counter] = {}
_configured = False


class _Providers:
    """Explicit providers (tests' in-memory exporters); None: the global ones."""

    tracer: TracerProvider | None = None
    meter: MeterProvider | None = None


_providers = _Providers()


def configure_telemetry(settings: Settings) -> bool:
    """Export to Application Insights when its connection string is set; True if configured."""
    global _configured
    if _configured or not settings.applicationinsights_connection_string:
        return _configured
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(
        connection_string=settings.applicationinsights_connection_string,
        logger_name="competency",  # the suite's own logs; the host reports its own
        instrumentation_options={"django": {"enabled": False}, "fastapi": {"enabled": False}, "flask": {"enabled": False}},
    )
    _configured = True
    return True


def use_providers(tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None) -> None:
    """Send the suite's spans and metrics to these providers (None: back to the global ones)."""
    _providers.tracer, _providers.meter = tracer_provider, meter_provider
    _counters.clear()


def _tracer() -> Tracer:
    from opentelemetry import trace

    return trace.get_tracer(NAME, tracer_provider=_providers.tracer)


def count(name: str, value: int = 1, **attributes: str) -> None:
    """Add to one of ``METRICS`` (attributes: low-cardinality names only)."""
    if value <= 0:
        return
    counter = _counters.get(name)
    if counter is None:
        from opentelemetry import metrics

        description, unit = METRICS[name]
        counter = metrics.get_meter(NAME, meter_provider=_providers.meter).create_counter(name, unit=unit, description=description)
        _counters[name] = counter
    counter.add(value, attributes)


@contextlib.contextmanager
def span(name: str, **attributes: object) -> Iterator[Span]:
    """A child span of the current invocation; an exception marks it failed and propagates."""
    with _tracer().start_as_current_span(name, attributes=_clean(attributes)) as current:
        yield current


def _clean(attributes: Mapping[str, object]) -> dict[str, Attribute]:
    return {k: v for k, v in attributes.items() if v is not None and isinstance(v, str | bool | int | float)}


def _parent_context(trace_context: object, headers: Mapping[str, str] | None) -> Context | None:
    """The host's trace context: the current span when the worker set one, else the invocation
    context's ``traceparent``, else the request's ``traceparent`` header."""
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    if trace.get_current_span().get_span_context().is_valid:
        return None  # the worker already continues the host's trace
    carrier: dict[str, str] = {}
    parent = getattr(trace_context, "trace_parent", None) if trace_context is not None else None
    if parent:
        carrier["traceparent"] = str(parent)
        state = getattr(trace_context, "trace_state", None)
        if state:
            carrier["tracestate"] = str(state)
    elif headers:
        for key in ("traceparent", "tracestate"):
            value = headers.get(key)
            if value:
                carrier[key] = value
    return extract(carrier) if carrier else None


@contextlib.contextmanager
def invocation(
    name: str,
    *,
    kind: str,
    context: func.Context | None = None,
    headers: Mapping[str, str] | None = None,
    cid: str | None = None,
    attributes: Mapping[str, object] | None = None,
) -> Iterator[Span]:
    """The span of one function invocation (kind: "server" for HTTP, "consumer" for a queue
    message, "internal" for a timer), with the correlation id set for its logs and on the span."""
    from opentelemetry.trace import SpanKind

    span_kind = {"server": SpanKind.SERVER, "consumer": SpanKind.CONSUMER}.get(kind, SpanKind.INTERNAL)
    invocation_id = getattr(context, "invocation_id", None)
    cid = cid or new_correlation_id()
    token = correlation_id.set(cid)
    try:
        values = {CORRELATION_ATTRIBUTE: cid, "faas.invocation_id": invocation_id, **(attributes or {})}
        with _tracer().start_as_current_span(
            name, context=_parent_context(getattr(context, "trace_context", None), headers), kind=span_kind, attributes=_clean(values)
        ) as current:
            yield current
    finally:
        correlation_id.reset(token)


def traced(target: T, component: str, **attributes: object) -> T:
    """``target`` with a span around each public method call (``{component}.{method}``)."""
    # A proxy: every attribute is the target's (its methods wrapped), so it is used as one.
    return cast(T, _Traced(target, component, _clean(attributes)))


class _Traced:
    def __init__(self, target: object, component: str, attributes: dict[str, Attribute]) -> None:
        self._target = target
        self._component = component
        self._attributes = attributes

    def __getattr__(self, name: str) -> object:  # whatever the target's attribute is (used through the cast above)
        value = getattr(self._target, name)
        if name.startswith("_") or not callable(value) or name == "close":
            return value

        @functools.wraps(value)
        def call(*args: object, **kwargs: object) -> object:
            with span(f"{self._component}.{name}", **self._attributes):
                return value(*args, **kwargs)

        return call


class Delivery(Protocol):
    """What the span of a queue message reads of it (``func.QueueMessage``)."""

    @property
    def id(self) -> str | None: ...

    @property
    def dequeue_count(self) -> int | None: ...


@contextlib.contextmanager
def queue_message(queue: str, msg: Delivery, context: func.Context | None = None, *, max_dequeue_count: int = 5) -> Iterator[Span]:
    """The span of one queue message, continuing the host's trace; the poison counter when its
    last delivery fails (host.json ``maxDequeueCount``: the host then moves it to ``-poison``)."""
    attributes = {"messaging.system": "azure_queue", "messaging.destination.name": queue, "messaging.message.id": getattr(msg, "id", None)}
    with invocation(f"{queue} process", kind="consumer", context=context, attributes=attributes) as current:
        try:
            yield current
        except Exception:
            if int(getattr(msg, "dequeue_count", 0) or 0) >= max_dequeue_count:
                count("competency.queue.poison", queue=queue)
            raise


def timer_run(name: str, context: func.Context | None = None) -> contextlib.AbstractContextManager[Span]:
    """The span of one timer run."""
    return invocation(name, kind="internal", context=context, attributes={"faas.trigger": "timer"})
