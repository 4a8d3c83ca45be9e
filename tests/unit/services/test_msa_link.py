"""Linking through the MSA sign-in: a sign-in is bound to the work account that started it,
single use and short-lived; the redirect never links; a sign-in presented by another
account is refused and burnt; nothing is linked by a refused or failed completion."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Caller
from shared.documents import UserDoc, partner_pk
from shared.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable
from shared.services.msa_sign_in_flow import LinkCompleteIn, LinkOut, LinkStartIn
from tests.fakes import msa_id_of
from tests.unit.services.conftest import T0, Suite

ADA = "ada@outlook.example"


def complete(suite: Suite, partner: dict[str, Any], caller: Caller, state: str, code: str) -> LinkOut:
    return suite.msa.complete(partner, caller, LinkCompleteIn(code=code, state=state))


def linked_msa(suite: Suite, partner: dict[str, Any], user_id: str) -> str | None:
    try:
        return str(suite.msa.current(partner, suite.member(partner, user_id))["msaId"])
    except NotFound:
        return None


def test_the_employee_who_started_the_sign_in_completes_it_and_the_msa_is_linked(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    employee = suite.store.read(partner_pk("p1"), UserDoc.doc_id("u1"))
    assert employee is not None and employee.body["status"] == "active", "an employee seen for the first time is recorded"
    code = suite.sign_in.sign_in(state, ADA)
    linked = complete(suite, partner, suite.member(partner, "u1"), state, code)
    assert (linked.msa_id, linked.partner_id, linked.user_id, linked.linked_at) == (msa_id_of(ADA), "p1", "u1", T0)
    assert suite.msa.current(partner, suite.member(partner, "u1")) == {
        "msaId": msa_id_of(ADA),
        "partnerId": "p1",
        "userId": "u1",
        "linkedAt": "2026-11-25T02:00:00Z",
    }


def test_the_redirect_hands_back_the_code_and_links_nothing(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    code = suite.sign_in.sign_in(state, ADA)
    back = suite.msa.callback({"code": code, "state": state})
    assert (back.code, back.state, back.complete) == (code, state, "/api/me/msa-link/complete")
    assert linked_msa(suite, partner, "u1") is None
    assert complete(suite, partner, suite.member(partner, "u1"), state, code).msa_id == msa_id_of(ADA), "the flow is still usable"


def test_a_refusal_at_the_provider_is_told_without_its_text(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    with pytest.raises(BadRequest) as refused:
        suite.msa.callback({"state": state, "error": "access_denied", "error_description": "<b>internal</b>"})
    assert "cancelled or refused" in refused.value.detail and "internal" not in refused.value.detail
    with pytest.raises(BadRequest):
        suite.msa.callback({"state": state})  # no code


def test_a_sign_in_completed_by_another_account_is_refused_and_burnt(suite: Suite) -> None:
    """The hijack: the starter hands the sign-in link to a colleague, who signs in with their MSA."""
    partner, other = suite.partner("p1"), suite.partner("p2")
    victim = suite.link(other, "v1", "victim@outlook.example")
    state = suite.start_link(partner, "attacker")
    code = suite.sign_in.sign_in(state, "victim@outlook.example")
    details = []
    for where, someone in ((partner, suite.member(partner, "colleague")), (other, suite.member(other, "v1"))):
        with pytest.raises(BadRequest) as refused:
            complete(suite, where, someone, state, code)
        details.append(refused.value.detail)
    assert "started by another account" in details[0] and "already used" in details[1]
    with pytest.raises(BadRequest):  # burnt: not even the starter can redeem it now
        complete(suite, partner, suite.member(partner, "attacker"), state, code)
    assert linked_msa(suite, other, "v1") == victim.msa_id, "the victim's MSA stays where it was"
    assert linked_msa(suite, partner, "attacker") is None


def test_the_first_refusal_by_another_account_names_the_reason(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    code = suite.sign_in.sign_in(state, ADA)
    with pytest.raises(BadRequest) as refused:
        complete(suite, partner, suite.member(partner, "u2"), state, code)
    assert "started by another account; nothing was linked" in refused.value.detail


def test_a_used_state_is_refused(suite: Suite) -> None:
    partner = suite.partner("p1")
    me = suite.member(partner, "u1")
    state = suite.start_link(partner, "u1")
    code = suite.sign_in.sign_in(state, ADA)
    complete(suite, partner, me, state, code)
    with pytest.raises(BadRequest) as replay:
        complete(suite, partner, me, state, code)
    assert "unknown, was already used, or has expired" in replay.value.detail
    with pytest.raises(BadRequest):
        suite.msa.callback({"code": code, "state": state})


def test_an_unknown_state_is_refused(suite: Suite) -> None:
    partner = suite.partner("p1")
    with pytest.raises(BadRequest):
        complete(suite, partner, suite.member(partner, "u1"), "forged", "code")
    with pytest.raises(BadRequest):
        suite.msa.callback({"code": "code", "state": "forged"})
    with pytest.raises(BadRequest):
        suite.msa.callback({})


def test_a_code_from_another_sign_in_is_refused_and_links_nothing(suite: Suite) -> None:
    partner = suite.partner("p1")
    mine = suite.start_link(partner, "u1")
    theirs = suite.start_link(partner, "u2")
    their_code = suite.sign_in.sign_in(theirs, "someone@outlook.example")
    with pytest.raises(BadRequest):
        complete(suite, partner, suite.member(partner, "u1"), mine, their_code)
    assert linked_msa(suite, partner, "u1") is None and linked_msa(suite, partner, "u2") is None


def test_a_sign_in_expires_after_its_lifetime(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    code = suite.sign_in.sign_in(state, ADA)
    suite.clock.advance(seconds=suite.c.settings.msa_flow_ttl_seconds + 1)
    with pytest.raises(BadRequest) as expired:
        complete(suite, partner, suite.member(partner, "u1"), state, code)
    assert "expired" in expired.value.detail
    assert suite.msa.sweep_expired_flows() == 1
    assert linked_msa(suite, partner, "u1") is None


def test_a_sign_in_just_within_its_lifetime_completes(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    code = suite.sign_in.sign_in(state, ADA)
    suite.clock.advance(seconds=suite.c.settings.msa_flow_ttl_seconds)
    assert suite.msa.sweep_expired_flows() == 0
    assert complete(suite, partner, suite.member(partner, "u1"), state, code).msa_id == msa_id_of(ADA)


def test_a_departed_employee_can_neither_start_nor_complete(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    code = suite.sign_in.sign_in(state, ADA)
    stored = suite.store.read(partner_pk("p1"), UserDoc.doc_id("u1"))
    assert stored is not None
    suite.store.upsert(partner_pk("p1"), {**stored.body, "status": "departed"})  # removed meanwhile
    with pytest.raises(Forbidden):
        complete(suite, partner, suite.member(partner, "u1"), state, code)
    with pytest.raises(Forbidden):
        suite.msa.start(partner, suite.member(partner, "u1"), LinkStartIn())
    assert linked_msa(suite, partner, "u1") is None


def test_an_unreachable_sign_in_service_is_a_retryable_error(suite: Suite) -> None:
    partner = suite.partner("p1")
    state = suite.start_link(partner, "u1")
    code = suite.sign_in.sign_in(state, ADA)
    suite.sign_in.unavailable = True
    with pytest.raises(ServiceUnavailable):
        complete(suite, partner, suite.member(partner, "u1"), state, code)
    assert linked_msa(suite, partner, "u1") is None


def test_unlinking_ends_the_link(suite: Suite) -> None:
    partner = suite.partner("p1")
    suite.link(partner, "u1", ADA)
    suite.msa.unlink(partner, suite.member(partner, "u1"))
    assert linked_msa(suite, partner, "u1") is None
    suite.msa.unlink(partner, suite.member(partner, "u1"))  # again: nothing to do, no error
