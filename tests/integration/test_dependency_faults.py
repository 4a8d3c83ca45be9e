"""The adapters under faults: every Cosmos DB call (each query page too) and every queue call
fails fast with the port's typed errors, naming the dependency; a queue that disappeared
is created again; the SDKs' HTTP logging stays at warnings."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from shared.adapters.cosmos_store import CosmosDocumentStore
from shared.adapters.storage_queue import StorageMessageQueue
from shared.logs import install_redaction
from shared.ports import QueueUnavailableError, StoreUnavailableError
from tests.servers import AzuriteServer, CosmosServer

pytestmark = pytest.mark.servers


@contextmanager
def paused(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def cosmos_store(cosmos: CosmosServer, timeout: float = 1.0) -> CosmosDocumentStore:
    return CosmosDocumentStore(
        cosmos.endpoint, database="faults-" + uuid.uuid4().hex[:6], container="c", key=cosmos.key, connection_verify=False, timeout=timeout
    )


def test_a_paused_cosmos_fails_every_call_fast_with_the_store_named_and_recovers(cosmos: CosmosServer) -> None:
    store = cosmos_store(cosmos)
    store.create("p1", {"id": "a", "type": "t"})
    calls: dict[str, Any] = {
        "read": lambda: store.read("p1", "a"),
        "query": lambda: store.query("p1", types=["t"]),
        "query_all": lambda: store.query_all(types=["t"]),
        "upsert": lambda: store.upsert("p1", {"id": "b", "type": "t"}),
        "write_batch": lambda: store.write_batch("p1", creates=[{"id": "c", "type": "t"}], upserts=[{"id": "b", "type": "t"}]),
    }
    with paused(cosmos.pid):
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError) as caught:
                call()
            assert time.monotonic() - started < 4, name  # not the SDK's 65 s read timeout
            assert caught.value.dependency == "data store"
    assert [d.body["id"] for d in store.query("p1", types=["t"], order_by="id")] in (["a"], ["a", "b"], ["a", "b", "c"])
    store.close()


def test_an_error_on_a_query_page_after_the_first_is_mapped(cosmos: CosmosServer) -> None:
    """A throttled (429) or timed-out page fetch is the port's 503 error, not an SDK error."""
    from azure.core.exceptions import ServiceResponseError
    from azure.cosmos.exceptions import CosmosHttpResponseError

    store = cosmos_store(cosmos)
    for failure in (CosmosHttpResponseError(status_code=429, message="throttled"), ServiceResponseError("read timed out")):
        container = store._container
        original = container.query_items

        def failing_pages(*args: Any, failure: Exception = failure, original: Any = original, **kwargs: Any) -> Any:
            pager = original(*args, **kwargs)

            class Pager:
                def by_page(self) -> Iterator[Any]:
                    yield from pager.by_page()
                    raise failure  # the next page's fetch fails (failure injection)

            return Pager()

        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(container, "query_items", failing_pages)
            with pytest.raises(StoreUnavailableError):
                store.query("p1")
    store.close()


def test_a_paused_queue_service_fails_fast_naming_the_queue(azurite: AzuriteServer) -> None:
    queue = StorageMessageQueue(azurite.connection_string, timeout=1.0)
    name = "faults-" + uuid.uuid4().hex[:8]
    queue.send(name, {"n": 1})
    with paused(azurite.pid):
        started = time.monotonic()
        with pytest.raises(QueueUnavailableError) as caught:
            queue.send(name, {"n": 2})
        assert time.monotonic() - started < 4  # not the SDK's minute of retries
        assert caught.value.dependency == "message queue"
    queue.send(name, {"n": 3})
    # The timed-out sends may still land once the service resumes (at-least-once): the
    # messages' work is idempotent, so a 503 only ever means "retry", never "lost".
    assert {m.body["n"] for m in queue.receive(name, max_messages=32)} >= {1, 3}
    queue.close()


def test_a_queue_that_disappeared_is_created_again(azurite: AzuriteServer) -> None:
    from azure.storage.queue import QueueServiceClient

    queue = StorageMessageQueue(azurite.connection_string)
    name = "gone-" + uuid.uuid4().hex[:8]
    queue.send(name, {"n": 1})
    with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        service.delete_queue(name)  # what an in-memory emulator's restart looks like
    queue.send(name, {"n": 2})
    [message] = queue.receive(name)
    assert message.body == {"n": 2}
    queue.delete(message)
    with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        service.delete_queue(name)
    assert queue.receive(name) == [] and queue.approximate_count(name) == 0
    queue.close()


def test_the_sdks_log_no_request_or_response_below_warning(cosmos: CosmosServer, azurite: AzuriteServer, caplog: Any) -> None:
    install_redaction()
    caplog.set_level(logging.DEBUG)  # the root logger lets everything through
    store = cosmos_store(cosmos)
    store.upsert("p1", {"id": "a", "type": "t"})
    store.query("p1")
    queue = StorageMessageQueue(azurite.connection_string)
    queue.send("log-volume", {"n": 1})
    queue.receive("log-volume")
    noisy = [r for r in caplog.records if r.name.startswith("azure") and r.levelno < logging.WARNING]
    assert noisy == [], {r.name for r in noisy}
    store.close()
    queue.close()
