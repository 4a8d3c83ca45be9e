"""Azure Storage queues through ``azure-storage-queue`` (messages are base64 JSON, as the
Functions host's queue trigger with ``messageEncoding: base64`` reads them)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from shared.ports import NotFoundError, QueueMessage, QueueUnavailableError, message_identity, poison_queue_name

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.queue import QueueClient

log = logging.getLogger("competency.queue")

P = ParamSpec("P")
T = TypeVar("T")


class StorageMessageQueue:
    def __init__(
        self,
        connection_string: str | None = None,
        *,
        account_url: str | None = None,
        credential: TokenCredential | None = None,
        timeout: float = 5.0,
        create_queues: bool = True,
    ) -> None:
        from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, LinearRetry, QueueServiceClient

        self._policies = {"message_encode_policy": BinaryBase64EncodePolicy(), "message_decode_policy": BinaryBase64DecodePolicy()}
        # Fail fast: two attempts bounded by the timeout, not the SDK's default of four
        # attempts 15, 18 and 24 s apart with 60 s reads (a minute and more per call).
        options: dict[str, Any] = {
            "retry_policy": LinearRetry(backoff=0, retry_total=1, random_jitter_range=0),
            "connection_timeout": max(0.5, timeout / 2),
            "read_timeout": max(0.5, timeout / 2),
        }
        self._create_queues = create_queues
        if connection_string:
            self._service = QueueServiceClient.from_connection_string(connection_string, **options)
        elif account_url:
            self._service = QueueServiceClient(account_url, credential=credential, **options)
        else:
            raise ValueError("a connection string or an account URL is required")
        self._clients: dict[str, QueueClient] = {}
        self._lock = threading.Lock()

    def _queue(self, name: str) -> QueueClient:
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._service.get_queue_client(name, **self._policies)
                if self._create_queues:
                    self._create(client)
                self._clients[name] = client
            return client

    def _create(self, client: QueueClient) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self._call(client.create_queue)

    def _on(self, queue: str, action: Callable[[QueueClient], T]) -> T:
        """``action(queue client)``; a queue that disappeared (a storage account restored, an
        emulator restarted) is created again and the action repeated once."""
        client = self._queue(queue)
        try:
            return self._call(action, client)
        except _QueueMissing:
            if not self._create_queues:
                raise QueueUnavailableError(f"the queue {queue} does not exist") from None
            log.warning("queue %s was not found; creating it again", queue)
            self._create(client)
            try:
                return self._call(action, client)
            except _QueueMissing:
                raise QueueUnavailableError(f"the queue {queue} does not exist") from None

    @staticmethod
    def _call(action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Every SDK error becomes one of the port's errors."""
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError

        try:
            return action(*args, **kwargs)
        except ResourceExistsError:
            raise
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "QueueNotFound":
                raise _QueueMissing(str(exc)) from None
            raise NotFoundError("the message is gone") from None
        except HttpResponseError as exc:
            code = getattr(exc, "error_code", None)
            if code == "PopReceiptMismatch":
                raise NotFoundError("the message was received again by someone else") from None
            if code == "QueueNotFound":
                raise _QueueMissing(str(exc)) from None
            raise QueueUnavailableError(f"Storage answered {exc.status_code} {code or ''}".strip()) from None
        except AzureError as exc:  # timeouts, connection errors
            raise QueueUnavailableError(f"Storage did not answer: {type(exc).__name__}") from None

    def send(self, queue: str, body: Mapping[str, Any], *, delay_seconds: int = 0) -> None:
        self._send_raw(queue, json.dumps(dict(body)).encode(), delay_seconds=delay_seconds)

    def _send_raw(self, queue: str, content: bytes, *, delay_seconds: int = 0) -> None:
        self._on(queue, lambda q: q.send_message(content, visibility_timeout=delay_seconds or None))

    def send_many(self, queue: str, bodies: Iterable[Mapping[str, Any]]) -> int:
        count = 0
        for body in bodies:  # the service takes one message per request
            self.send(queue, body)
            count += 1
        return count

    def receive(
        self,
        queue: str,
        *,
        max_messages: int = 16,
        visibility_timeout: int = 30,
        max_dequeue_count: int = 5,
    ) -> list[QueueMessage]:
        messages = self._on(
            queue,
            lambda q: list(
                q.receive_messages(
                    messages_per_page=min(max_messages, 32), visibility_timeout=visibility_timeout, max_messages=max_messages
                )
            ),
        )
        received: list[QueueMessage] = []
        for message in messages:
            try:
                body = json.loads(message.content)
            except ValueError:
                body = {"_unreadable": True}
            inserted = message.inserted_on.timestamp() if message.inserted_on else 0.0
            # A received message always carries both (the SDK's model leaves them optional
            # for the messages it returns from a send).
            pop_receipt, dequeue_count = cast(str, message.pop_receipt), cast(int, message.dequeue_count)
            item = QueueMessage(message.id, pop_receipt, body, dequeue_count, queue, inserted)
            if dequeue_count > max_dequeue_count:
                # Dequeued too often without being deleted: park it, as the Functions host does.
                self._send_raw(poison_queue_name(queue), message.content)
                self.delete(item)
                log.error("message moved to %s: %s", poison_queue_name(queue), message_identity(item))
                continue
            received.append(item)
        return received

    def delete(self, message: QueueMessage) -> None:
        self._on(message.queue, lambda q: q.delete_message(message.id, message.pop_receipt))

    def approximate_count(self, queue: str) -> int:
        properties = self._on(queue, lambda q: q.get_queue_properties())
        return int(properties.approximate_message_count or 0)

    def clear(self, queue: str) -> None:
        self._on(queue, lambda q: q.clear_messages())

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
        self._service.close()


class _QueueMissing(Exception):
    """The queue itself does not exist (``QueueNotFound``)."""
