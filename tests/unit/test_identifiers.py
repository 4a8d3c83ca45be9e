"""Identifiers are validated as full matches (a trailing newline is not the end), and the
directory's and token service's own error text never reaches a caller."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.auth import _TENANT_ID
from shared.domain.catalog import _PERIOD
from shared.domain.provisioning import UserRow
from shared.errors import ProblemError, ServiceUnavailable
from shared.ports import DirectoryDomain, DirectoryError, DirectoryResult, DirectoryUser, NewDirectoryUser
from shared.services.feeds import AchievementIn
from shared.services.msa_association import LinkService
from shared.services.partners import PartnerIn, validate_partner_id
from shared.services.users import UserService, _valid_id

IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r", "\x00", " "])


@given(st.uuids().map(str), ENDINGS)
def test_a_tenant_id_with_anything_after_it_is_refused(value: str, ending: str) -> None:
    """Tenant ids are Entra's: GUIDs, in tokens and in partner registrations alike."""
    bad = value + ending
    assert _TENANT_ID.fullmatch(value) and not _TENANT_ID.fullmatch(bad)
    assert PartnerIn.model_validate({"displayName": "P", "tenantId": value}).tenant_id == value
    # Request models trim surrounding blanks; whatever they keep is the identifier alone.
    assert accepted(PartnerIn, {"displayName": "P", "tenantId": bad}, "tenant_id") in (None, value)


@given(IDS, ENDINGS)
def test_an_identifier_with_anything_after_it_is_refused_everywhere(value: str, ending: str) -> None:
    bad = value + ending
    assert _valid_id(value) and not _valid_id(bad)
    validate_partner_id(value)
    with pytest.raises(ProblemError):
        validate_partner_id(bad)
    achievement = {"msaId": bad, "kind": "exam", "code": "70-533", "earnedOn": "2026-01-10"}
    assert accepted(AchievementIn, achievement, "msa_id") in (None, value)
    with pytest.raises(ValidationError):
        UserRow.model_validate({"displayName": "A", "mailNickname": value + "\nb"})


def accepted(model: Any, data: dict[str, Any], field: str) -> Any:
    try:
        return getattr(model.model_validate(data), field)
    except ValidationError:
        return None


def test_a_period_or_email_with_a_trailing_newline_is_refused() -> None:
    assert _PERIOD.fullmatch("P12M") and not _PERIOD.fullmatch("P12M\n")
    with pytest.raises(ValidationError):
        UserRow.model_validate({"displayName": "A", "email": "a@b.example\nx"})


class FailingDirectory:
    """Graph answering with its own (internal) text: throttled token service, refused rows."""

    text = "AADSTS7000215: Invalid client secret provided for app 1234 in tenant contoso"

    def find_users(self, tenant_id: str, upns: Sequence[str]) -> dict[str, DirectoryUser]:
        return {}

    def list_domains(self, tenant_id: str) -> list[DirectoryDomain]:
        if tenant_id == "t":
            raise DirectoryError("could not get a Microsoft Graph token: " + self.text)
        return [DirectoryDomain("x.example", is_default=True, is_verified=True, authentication_type="Managed")]

    def create_users(self, tenant_id: str, users: Sequence[NewDirectoryUser]) -> list[DirectoryResult]:
        return [DirectoryResult(u.ref, "failed", error="Request_BadRequest: " + self.text) for u in users]


def service(tmp_path: Path) -> UserService:
    directory: Any = FailingDirectory()
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    return UserService(
        store,
        SqliteMessageQueue(tmp_path / "q.sqlite3"),
        lambda: directory,
        links=LinkService(store),
        max_rows=10,
        inline_rows=10,
        log_ttl_hours=1,
    )


def test_directory_and_token_errors_are_logged_not_echoed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    users = service(tmp_path)
    with pytest.raises(ServiceUnavailable) as caught:
        users.start_import({"partnerId": "p", "tenantId": "t"}, [{"displayName": "Ada"}], idempotency_key=None, actor="a")
    assert "AADSTS" not in caught.value.detail and "correlation id" in caught.value.detail
    assert "AADSTS7000215" in caplog.text

    view, _ = users.start_import(
        {"partnerId": "p", "tenantId": "t2", "primaryDomain": "x.example"}, [{"displayName": "Ada"}], idempotency_key=None, actor="a"
    )
    [row] = view["results"]
    assert row["status"] == "failed" and "AADSTS" not in row["error"] and "correlation id" in row["error"]
    reference = row["error"].rsplit(" ", 1)[1].rstrip(")")
    assert any(reference in r.getMessage() and "AADSTS7000215" in r.getMessage() for r in caplog.records)
