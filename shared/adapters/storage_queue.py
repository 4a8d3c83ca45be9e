"""Azure Storage queues through ``azure-storage-queue`` (messages are base64 JSON, as the
Functions host's queue trigger with ``messageEncoding: base64`` reads them)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from shared.ports import NotFoundError, QueueMessage, StoreUnavailableError, poison_queue_name


class StorageMessageQueue:
    def __init__(self, connection_string: str | None = None, *, account_url: str | None = None, credential: Any = None) -> None:
        from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueServiceClient

        self._policies = {"message_encode_policy": BinaryBase64EncodePolicy(), "message_decode_policy": BinaryBase64DecodePolicy()}
        if connection_string:
            self._service = QueueServiceClient.from_connection_string(connection_string)
        elif account_url:
            self._service = QueueServiceClient(account_url, credential=credential)
        else:
            raise ValueError("a connection string or an account URL is required")
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _queue(self, name: str) -> Any:
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                from azure.core.exceptions import ResourceExistsError

                client = self._service.get_queue_client(name, **self._policies)
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                self._clients[name] = client
            return client

    @staticmethod
    def _call(action: Any, *args: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError

        try:
            return action(*args, **kwargs)
        except ResourceNotFoundError as exc:
            raise NotFoundError(str(exc)) from None
        except HttpResponseError as exc:
            if getattr(exc, "error_code", None) == "PopReceiptMismatch":
                raise NotFoundError("the message was received again by someone else") from None
            if exc.status_code is not None and exc.status_code >= 500:
                raise StoreUnavailableError(f"Storage answered {exc.status_code}") from None
            raise
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise StoreUnavailableError(str(exc)) from None

    def send(self, queue: str, body: Mapping[str, Any], *, delay_seconds: int = 0) -> None:
        data = json.dumps(dict(body)).encode()
        self._call(self._queue(queue).send_message, data, visibility_timeout=delay_seconds or None)

    def send_many(self, queue: str, bodies: Iterable[Mapping[str, Any]]) -> int:
        client = self._queue(queue)
        count = 0
        for body in bodies:  # the service takes one message per request
            self._call(client.send_message, json.dumps(dict(body)).encode())
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
        client = self._queue(queue)
        pager = self._call(
            client.receive_messages,
            messages_per_page=min(max_messages, 32),
            visibility_timeout=visibility_timeout,
            max_messages=max_messages,
        )
        received: list[QueueMessage] = []
        for message in self._call(list, pager):
            if message.dequeue_count > max_dequeue_count:
                # Dequeued too often without being deleted: park it, as the Functions host does.
                self._call(self._queue(poison_queue_name(queue)).send_message, message.content)
                self._call(client.delete_message, message.id, message.pop_receipt)
                continue
            try:
                body = json.loads(message.content)
            except ValueError:
                body = {"_unreadable": True}
            inserted = message.inserted_on.timestamp() if message.inserted_on else 0.0
            received.append(QueueMessage(message.id, message.pop_receipt, body, message.dequeue_count, queue, inserted))
        return received

    def delete(self, message: QueueMessage) -> None:
        self._call(self._queue(message.queue).delete_message, message.id, message.pop_receipt)

    def approximate_count(self, queue: str) -> int:
        properties = self._call(self._queue(queue).get_queue_properties)
        return int(properties.approximate_message_count or 0)

    def clear(self, queue: str) -> None:
        self._call(self._queue(queue).clear_messages)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
        self._service.close()
