"""Structured logging with a correlation id per invocation and redaction of secrets.

Every record carries ``correlation_id``; the redaction filter removes bearer tokens, JWTs,
passwords and keys from messages and arguments before any handler sees them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")

MAX_PROVIDER_TEXT = 200  # characters of an outside provider's own text kept in a log line or message


def provider_text(value: object) -> str:
    """An outside provider's text (an error code, a description) for a log line or a message:
    one line, bounded, no markup."""
    text = " ".join(str(value or "").split())
    return "".join(ch for ch in text if ch not in "<>\"'`")[:MAX_PROVIDER_TEXT]


_SECRET_PATTERNS = [
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # any JWT
    re.compile(
        r"(?i)(password|passwd|secret|client_secret|accountkey|sharedaccesskey|sig|code_verifier|"
        r"temporarypassword|access_token|id_token|refresh_token|code)(\"?\s*[=:]\s*\"?)[^\s\";,&]+"
    ),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the record's message with secrets removed; attaches the correlation id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of the root logger (idempotent)."""
    root = logger or logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
    quiet_client_libraries()


# Client libraries log full URLs (a Logic App trigger URL carries its SAS signature), request
# headers and every request and response at INFO (the Cosmos SDK's own HTTP logging policy
# among them, under "azure.cosmos"): keep every one of them to warnings.
CLIENT_LOGGERS = (
    "azure",
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.cosmos._cosmos_http_logging_policy",
    "httpx",
    "httpcore",
    "msal",
    "urllib3",
)


def quiet_client_libraries() -> None:
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def new_correlation_id(incoming: str | None = None) -> str:
    """Use the caller's id when it is sane (so a portal trace follows through), else a new one."""
    if incoming and re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", incoming):
        return incoming
    return uuid.uuid4().hex
