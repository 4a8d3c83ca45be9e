"""Fakes of the outside systems and of time, for tests through the composition root.

Each fake keeps the behaviour of the real thing that the services rely on, and nothing more:
the clock stands still until a test moves it; the MSA sign-in issues a code for one started
flow, redeemable once and only with that flow (as PKCE makes it with the real provider); the
directory holds users per tenant; the alert sink records what it was given.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.ports import (
    DeliveryError,
    DirectoryDomain,
    DirectoryResult,
    DirectoryUser,
    Identity,
    NewDirectoryUser,
    SignInError,
    SignInUnavailableError,
)


class FixedClock:
    """``now`` until a test moves it (``advance``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def msa_id_of(email: str) -> str:
    """The same address always signs in as the same personal account."""
    return "msa-" + "".join(ch if ch.isalnum() else "-" for ch in email.lower())


class FakeSignIn:
    """The MSA authorization code flow: ``start`` keeps a flow, ``sign_in`` is the person
    signing in at the provider with that flow (a code for it), ``finish`` redeems a code once,
    with the flow it was issued for only."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._codes: dict[str, tuple[str, Identity]] = {}
        self.unavailable = False

    def start(self, login_hint: str | None = None) -> tuple[str, dict[str, Any]]:
        state = f"state-{next(self._numbers)}"
        return f"https://login.example/authorize?state={state}", {"state": state, "code_verifier": f"verifier-{state}"}

    def sign_in(self, state: str, email: str) -> str:
        code = f"code-{next(self._numbers)}"
        self._codes[code] = (state, Identity(oid=msa_id_of(email), email=email, name=None))
        return code

    def finish(self, flow: dict[str, Any], params: dict[str, str]) -> Identity:
        if self.unavailable:
            raise SignInUnavailableError("The Microsoft account sign-in service did not answer; try again.")
        issued = self._codes.pop(params.get("code", ""), None)
        if issued is None or issued[0] != flow["state"]:
            raise SignInError("The Microsoft account sign-in failed. Start linking again from the portal.")
        return issued[1]


class FakeDirectory:
    """Users per tenant, keyed by lower-case user principal name."""

    def __init__(self, domain: str = "contoso.example") -> None:
        self.domain = domain
        self.users: dict[str, dict[str, DirectoryUser]] = {}
        self._ids = itertools.count(1)

    def create_users(self, tenant_id: str, users: Sequence[NewDirectoryUser]) -> list[DirectoryResult]:
        tenant = self.users.setdefault(tenant_id, {})
        results = []
        for new in users:
            held = tenant.get(new.user_principal_name.lower())
            if held is not None:
                ours = new.marker is not None and held.marker == new.marker  # a retry of this create
                results.append(DirectoryResult(new.ref, "created" if ours else "exists", held))
                continue
            user = DirectoryUser(f"00000000-0000-0000-0000-{next(self._ids):012d}", new.user_principal_name, new.display_name, new.marker)
            tenant[new.user_principal_name.lower()] = user
            results.append(DirectoryResult(new.ref, "created", user))
        return results

    def find_users(self, tenant_id: str, upns: Sequence[str]) -> dict[str, DirectoryUser]:
        tenant = self.users.get(tenant_id, {})
        return {upn.lower(): tenant[upn.lower()] for upn in upns if upn.lower() in tenant}

    def delete_user(self, tenant_id: str, user_id: str) -> bool:
        tenant = self.users.get(tenant_id, {})
        for upn, user in list(tenant.items()):
            if user.user_id == user_id:
                del tenant[upn]
                return True
        return False

    def list_domains(self, tenant_id: str) -> list[DirectoryDomain]:
        return [DirectoryDomain(self.domain, is_default=True, is_verified=True, authentication_type="Managed")]

    def close(self) -> None:
        pass


class RecordingSink:
    """An alert sink that keeps every event it is given (or refuses them while ``down``)."""

    name = "recording"

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.down = False

    def deliver(self, event: Mapping[str, Any]) -> None:
        if self.down:
            raise DeliveryError("the receiver is down")
        self.events.append(event)
