"""Employees of a partner: adding them (one, many, a CSV file) through the directory, the
import and its one-time log file, listing them, and removing one who leaves.

An import is planned before anything is created: each row gets its user name and temporary
password, the plan is stored (passwords only in the log document), and then the directory
is asked to create the users in batches. A retried request (same ``Idempotency-Key``) or a
redelivered background message resumes the same plan, so nothing is created twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from shared import telemetry
from shared.documents import (
    ImportDoc,
    ImportLogDoc,
    ImportRowsDoc,
    MsaMirrorDoc,
    NameReservationDoc,
    UserDoc,
    iso,
    partner_pk,
    utc_now,
)
from shared.domain import provisioning as rules
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
    ValidationFailed,
)
from shared.logs import correlation_id
from shared.ports import (
    ConflictError,
    Directory,
    DirectoryError,
    DirectoryPermissionError,
    DocumentStore,
    MessageQueue,
    NewDirectoryUser,
    NotFoundError,
    OneOf,
    PatchOp,
    PreconditionFailedError,
    StoreError,
)
from shared.queues import IMPORT_USERS
from shared.services.msa_association import LinkService, count_linked
from shared.services.users_api import RemovedOut, import_view

log = logging.getLogger("competency.users")
CHUNK = 200  # rows per chunk document, directory round and progress update
PLANNING_TIMEOUT = timedelta(seconds=60)  # a plan older than this without its import was abandoned
# A name reserved by a plan that was never stored (its request died) is free again after
# this; far beyond the longest request (an HTTP function answers within 230 s).
ABANDONED_RESERVATION = timedelta(hours=1)
RESERVATION_ROUNDS = 20
MAX_RENAMES = 3  # a planned name taken in the directory meanwhile: pick another, this often
EMAILS_PER_QUERY = 500  # candidates named in one query of known users

LOG_GONE = "The log file was already downloaded or has expired; the passwords are no longer available."


def creation_marker(import_id: str, row: int) -> str:
    """What a plan writes on each account it creates, to know the account as its own."""
    return f"competency-suite:{import_id}:{row}"


class UserService:
    def __init__(
        self,
        store: DocumentStore,
        queue: MessageQueue,
        directory: Callable[[], Directory],
        *,
        links: LinkService,
        max_rows: int,
        inline_rows: int,
        log_ttl_hours: int,
        stall_seconds: int = 300,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._queue = queue
        self._directory = directory
        self._links = links
        self._max_rows = max_rows
        self._inline_rows = inline_rows
        self._log_ttl = timedelta(hours=log_ttl_hours)
        self._stall = timedelta(seconds=stall_seconds)
        self._clock = clock

    # --- adding -------------------------------------------------------------------------------

    def rows_from_csv(self, body: bytes) -> list[dict[str, Any]]:
        """The rows of the bulk CSV export."""
        try:
            return [dict(r) for r in rules.read_csv(body, max_rows=self._max_rows)]
        except rules.CsvTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except rules.CsvError as exc:
            raise BadRequest(str(exc)) from None

    @staticmethod
    def rows_from_json(data: object) -> list[dict[str, Any]]:
        """The rows of ``{"users": [...]}``; each row is validated on its own later."""
        if not isinstance(data, dict) or set(data) != {"users"} or not isinstance(data["users"], list):
            raise ValidationFailed(
                'The body must be {"users": [...]} and nothing else.', errors=[{"pointer": "#/users", "detail": "required list"}]
            )
        if not data["users"]:
            raise ValidationFailed("users is empty.", errors=[{"pointer": "#/users", "detail": "at least one user"}])
        return [u if isinstance(u, dict) else {"__invalid__": u} for u in data["users"]]

    def start_import(
        self,
        partner: Mapping[str, Any],
        items: Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str | None,
        actor: str,
    ) -> tuple[dict[str, Any], bool]:
        """Plan and run an import; returns (import view, finished inline)."""
        if len(items) > self._max_rows:
            raise PayloadTooLarge(f"{len(items)} users in one request; the limit is {self._max_rows}.")
        partner_id = str(partner["partnerId"])
        pk = partner_pk(partner_id)
        digest = hashlib.sha256(json.dumps(list(items), sort_keys=True, default=str).encode()).hexdigest()
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 128 or not idempotency_key.isprintable():
                raise BadRequest("Idempotency-Key must be 1-128 printable characters.")
            import_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{partner_id}/{idempotency_key}"))
            existing = self._store.read(pk, ImportDoc.doc_id(import_id))
            if existing is not None:
                return self._resume(partner, existing.body, digest)
        else:
            import_id = str(uuid.uuid4())

        good, bad = rules.validate_rows(items)
        known = self._known_by_email(partner_id, [user.email for _, user in good if user.email])
        rows: list[dict[str, Any]] = [{"row": e.row, "status": "failed", "error": e.error} for e in bad]
        passwords: dict[str, str] = {}
        to_plan: list[tuple[int, rules.UserRow]] = []
        emails_in_file: dict[str, int] = {}
        for number, user in good:
            if user.email and user.email in known:
                user_doc = known[user.email]
                rows.append(
                    {
                        "row": number,
                        "status": "exists",
                        "userPrincipalName": user_doc.user_principal_name,
                        "userId": user_doc.user_id,
                        "displayName": user.display_name,
                    }
                )
            elif user.email and user.email in emails_in_file:
                rows.append(
                    {
                        "row": number,
                        "status": "failed",
                        "error": f"the same email as row {emails_in_file[user.email]}",
                        "displayName": user.display_name,
                    }
                )
            else:
                if user.email:
                    emails_in_file[user.email] = number
                to_plan.append((number, user))
        if to_plan:
            directory = self._directory()
            domain = self._domain(partner, directory)
            with _directory_call():
                upns = self._reserve_names(
                    pk, import_id, directory, str(partner["tenantId"]), [(n, rules.base_local_part(u), domain) for n, u in to_plan]
                )
            for number, user in to_plan:
                passwords[str(number)] = rules.temporary_password()
                rows.append(
                    {
                        "row": number,
                        "status": "pending",
                        "userPrincipalName": upns[number],
                        "baseName": rules.base_local_part(user),
                        "displayName": user.display_name,
                        "givenName": user.given_name,
                        "surname": user.surname,
                        "email": user.email,
                        "mailNickname": rules.mail_nickname_of(upns[number]),
                    }
                )
        rows.sort(key=lambda r: r["row"])
        now = self._clock()
        chunks = [[_bounded(r) for r in rows[start : start + CHUNK]] for start in range(0, len(rows), CHUNK)]
        doc = ImportDoc(
            id=ImportDoc.doc_id(import_id),
            import_id=import_id,
            partner_id=partner_id,
            state="running",
            request_digest=digest,
            created_by=actor,
            created_at=now,
            chunks=len(chunks),
        )
        log_doc = ImportLogDoc(
            id=ImportLogDoc.doc_id(import_id),
            import_id=import_id,
            passwords=passwords,
            expires_at=now + self._log_ttl,
            ttl=int(self._log_ttl.total_seconds()),
        )
        # The log (with the passwords) first: a plan is never stored without its passwords,
        # and only one request plans an import: a concurrent retry with the same key must
        # not replace passwords that the first one may already have given to the directory.
        try:
            self._store.create(pk, log_doc.to_doc())
        except ConflictError:
            existing = self._store.read(pk, ImportDoc.doc_id(import_id))
            if existing is not None:
                return self._resume(partner, existing.body, digest)
            abandoned = self._store.read(pk, ImportLogDoc.doc_id(import_id))
            planned_at = ImportLogDoc.from_doc(abandoned.body).expires_at - self._log_ttl if abandoned else now
            if now - planned_at < PLANNING_TIMEOUT:
                raise Conflict("This import is being prepared by another request; retry shortly.", headers={"Retry-After": "2"}) from None
            # A plan that never got stored (its request died): no user was created from it.
            self._store.upsert(pk, log_doc.to_doc())
        for number, chunk_rows in enumerate(chunks):  # upsert: a dead planner may have left some
            chunk_doc = ImportRowsDoc(id=ImportRowsDoc.doc_id(import_id, number), import_id=import_id, chunk=number, rows=chunk_rows)
            self._store.upsert(pk, chunk_doc.to_doc())
        try:
            stored = self._store.create(pk, doc.to_doc())
        except ConflictError:  # the same key, concurrently: the other request owns the import
            existing = self._store.read(pk, ImportDoc.doc_id(import_id))
            assert existing is not None
            return self._resume(partner, existing.body, digest)
        if self._in_background(rows):
            self._continue_in_background(pk, ImportDoc.from_doc(stored.body))
            return import_view(ImportDoc.from_doc(stored.body), rows, accepted=True), False
        return self._finished_view(partner, import_id)

    def _reserve_names(
        self,
        pk: str,
        import_id: str,
        directory: Directory,
        tenant: str,
        wanted: Sequence[tuple[int, str, str]],
        *,
        unusable: Iterable[str] = (),
    ) -> dict[int, str]:
        """A free user name for each (row, base local part, domain), reserved for this import.

        Names are chosen against the directory and every other reservation (and never among
        ``unusable``: names Graph refused as other objects' addresses), then each is
        reserved with a create-if-absent; one a concurrent import reserved first is chosen
        again. Returns row → user name.
        """
        rows = {row for row, _, _ in wanted}
        reserved: set[str] = {name.lower() for name in unusable}
        for stored in self._store.query(pk, types=[NameReservationDoc.doc_type]):
            if stored.body.get("importId") != import_id or stored.body.get("row") not in rows:
                reserved.add(str(stored.body.get("upn") or "").lower())
        chosen: dict[int, str] = {}
        todo = list(wanted)
        for _ in range(RESERVATION_ROUNDS):
            held = reserved | set(chosen.values())

            def taken(candidates: Any, held: set[str] = held) -> set[str]:
                candidates = list(candidates)
                blocked = {c for c in candidates if c in held}
                rest = [c for c in candidates if c not in blocked]
                return blocked | (set(directory.find_users(tenant, rest)) if rest else set())

            lost: list[tuple[int, str, str]] = []
            by_domain: dict[str, list[tuple[int, str, str]]] = {}
            for item in todo:
                by_domain.setdefault(item[2], []).append(item)
            for domain, items in by_domain.items():
                upns = rules.unique_upns([base for _, base, _ in items], domain, taken)
                for item, upn in zip(items, upns, strict=True):
                    if self._reserve(pk, upn, import_id, item[0]):
                        chosen[item[0]] = upn
                    else:
                        reserved.add(upn)
                        lost.append(item)
            if not lost:
                return chosen
            todo = lost
        raise Conflict("Other imports are choosing the same user names right now; retry shortly.", headers={"Retry-After": "2"})

    def _reserve(self, pk: str, upn: str, import_id: str, row: int) -> bool:
        """Create-if-absent of the name's reservation; True when this row of this import holds it."""
        now = self._clock()
        doc = NameReservationDoc(id=NameReservationDoc.doc_id(upn), upn=upn.lower(), import_id=import_id, row=row, reserved_at=now)
        try:
            self._store.create(pk, doc.to_doc())
            return True
        except ConflictError:
            pass
        stored = self._store.read(pk, doc.id)
        if stored is None:
            return False  # released meanwhile: choose again
        holder = NameReservationDoc.from_doc(stored.body)
        if (holder.import_id, holder.row) == (import_id, row):
            return True
        abandoned = now - holder.reserved_at > ABANDONED_RESERVATION and self._store.read(pk, ImportDoc.doc_id(holder.import_id)) is None
        if not abandoned:
            return False
        try:
            self._store.replace(pk, doc.to_doc(), if_match=stored.etag)
            return True
        except (PreconditionFailedError, NotFoundError):
            return False

    def _resume(self, partner: Mapping[str, Any], body: Mapping[str, Any], digest: str) -> tuple[dict[str, Any], bool]:
        doc = ImportDoc.from_doc(dict(body))
        if doc.request_digest != digest:
            raise Conflict("This Idempotency-Key was used for a different request; use a new key for new rows.")
        rows = self._rows(partner_pk(doc.partner_id), doc)
        if doc.state == "completed":
            return import_view(doc, rows, log_available=self._log_available(str(partner["partnerId"]), doc.import_id)), True
        if self._in_background(rows):
            # Its message was never sent or was lost, or it failed as a whole and is retried
            # now that the cause (consent) may be fixed: send it again.
            if doc.state == "failed" or self._stalled(doc):
                self._continue_in_background(partner_pk(doc.partner_id), doc)
            return import_view(doc, rows, accepted=True), False  # the background run continues it
        return self._finished_view(partner, doc.import_id)

    def _finished_view(self, partner: Mapping[str, Any], import_id: str) -> tuple[dict[str, Any], bool]:
        """Run an import inline; one that failed as a whole is a problem for the caller."""
        doc = self.run_import(partner, import_id)
        if doc.state == "failed":
            raise _consent_problem(doc.error or "")
        return import_view(doc, self._rows(partner_pk(doc.partner_id), doc)), True

    def _rows(self, pk: str, doc: ImportDoc) -> list[dict[str, Any]]:
        """Every row of an import, in order (one single-partition query)."""
        stored = self._store.query(pk, types=[ImportRowsDoc.doc_type], where={"importId": doc.import_id}, order_by="chunk")
        chunks = [ImportRowsDoc.from_doc(s.body) for s in stored]
        return [r for c in chunks if c.chunk < doc.chunks for r in c.rows]

    def _in_background(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Large imports continue through the queue; small ones finish in the request."""
        return sum(1 for r in rows if r["status"] == "pending") > self._inline_rows

    # --- background continuation (issue 21) ------------------------------------------------------

    def _stalled(self, doc: ImportDoc) -> bool:
        """No message in flight (never sent) or no progress for IMPORT_STALL_SECONDS."""
        if doc.state != "running":
            return False
        if doc.enqueued_at is None:
            return True
        last = max(t for t in (doc.created_at, doc.enqueued_at, doc.progress_at) if t is not None)
        return self._clock() - last >= self._stall

    def _continue_in_background(self, pk: str, doc: ImportDoc) -> None:
        """Send the import's message, then note it; a failed send leaves it un-noted, so the
        next retry (or the sweep) sends it again. A duplicate message only resumes the plan."""
        self._queue.send(IMPORT_USERS, {"partnerId": doc.partner_id, "importId": doc.import_id})
        with contextlib.suppress(StoreError):  # the sweep will see it as stalled and resend
            self._store.patch(pk, doc.id, [PatchOp("set", "/enqueuedAt", iso(self._clock()))])

    def resume_stalled(self) -> int:
        """The sweep: resume every running import that made no progress for a while."""
        count = 0
        for stored in self._store.query_all(types=[ImportDoc.doc_type], where={"state": "running"}):
            doc = ImportDoc.from_doc(stored.body)
            if self._stalled(doc):
                log.warning("import %s of %s made no progress; resuming it", doc.import_id, doc.partner_id)
                self._continue_in_background(stored.body["pk"], doc)
                count += 1
        return count

    def _known_by_email(self, partner_id: str, emails: Sequence[str]) -> dict[str, UserDoc]:
        """The partner's active users with one of these emails: only the candidates are read."""
        known: dict[str, UserDoc] = {}
        candidates = sorted(set(emails))
        for start in range(0, len(candidates), EMAILS_PER_QUERY):
            where = {"email": OneOf(tuple(candidates[start : start + EMAILS_PER_QUERY]))}
            for stored in self._store.query(partner_pk(partner_id), types=[UserDoc.doc_type], where=where):
                user = UserDoc.from_doc(stored.body)
                if user.email and user.status == "active":
                    known[user.email.lower()] = user
        return known

    def _domain(self, partner: Mapping[str, Any], directory: Directory) -> str:
        """A verified managed domain of the tenant: password users cannot be created in a
        federated one (Graph asks for an on-premises immutable id)."""
        with _directory_call():
            domains = directory.list_domains(str(partner["tenantId"]))
        chosen = rules.choose_domain(domains, preferred=partner.get("primaryDomain"))
        if chosen is None:
            raise Conflict(
                "The partner's directory has no verified managed domain: users with a password can only be created in one "
                "(federated domains need an on-premises identity). Verify a managed domain in Entra ID and retry.",
                title="No managed domain for new users",
                slug="no-managed-domain",
            )
        return chosen.lower()

    def run_import(self, partner: Mapping[str, Any], import_id: str) -> ImportDoc:
        """Create the pending rows chunk by chunk, saving progress after each; safe to re-run.

        If Graph denies the app (admin consent missing), the import fails as a whole with
        that reason and its rows stay pending, so a retry after consent resumes it."""
        pk = partner_pk(str(partner["partnerId"]))
        stored = self._store.read(pk, ImportDoc.doc_id(import_id))
        if stored is None:
            raise NotFound("No such import.")
        doc = ImportDoc.from_doc(stored.body)
        if doc.state == "completed":
            return doc
        try:
            with _directory_call(keep=DirectoryPermissionError):
                for number in range(doc.chunks):
                    self._run_chunk(partner, import_id, number)
        except DirectoryPermissionError as exc:
            return self._finish(pk, import_id, "failed", error=str(exc))
        return self._finish(pk, import_id, "completed")

    def _finish(self, pk: str, import_id: str, state: Literal["completed", "failed"], *, error: str | None = None) -> ImportDoc:
        while True:
            stored = self._store.read(pk, ImportDoc.doc_id(import_id))
            if stored is None:
                raise NotFound("No such import.")
            doc = ImportDoc.from_doc(stored.body)
            if doc.state == "completed":
                return doc  # a concurrent run of the same plan finished it
            doc.state, doc.error = state, error
            doc.completed_at = self._clock() if state == "completed" else None
            try:
                self._store.replace(pk, doc.to_doc(), if_match=stored.etag)
            except PreconditionFailedError:
                continue
            if state == "failed":
                log.warning("import %s failed as a whole: %s", import_id, error)
            return doc

    def _run_chunk(self, partner: Mapping[str, Any], import_id: str, number: int) -> None:
        """Create the pending rows of one chunk document; re-read and go on after a race."""
        pk = partner_pk(str(partner["partnerId"]))
        directory = self._directory()
        tenant = str(partner["tenantId"])
        while True:
            stored = self._store.read(pk, ImportRowsDoc.doc_id(import_id, number))
            if stored is None:
                return
            chunk = ImportRowsDoc.from_doc(stored.body)
            pending = [r for r in chunk.rows if r["status"] == "pending"]
            if not pending:
                return
            log_stored = self._store.read(pk, ImportLogDoc.doc_id(import_id))
            passwords = ImportLogDoc.from_doc(log_stored.body).passwords if log_stored else {}
            batch = [
                NewDirectoryUser(
                    ref=str(r["row"]),
                    user_principal_name=r["userPrincipalName"],
                    display_name=r["displayName"],
                    mail_nickname=r.get("mailNickname") or rules.mail_nickname_of(r["userPrincipalName"]),
                    password=passwords.get(str(r["row"])) or rules.temporary_password(),
                    given_name=r.get("givenName"),
                    surname=r.get("surname"),
                    marker=creation_marker(import_id, r["row"]),
                )
                for r in pending
            ]
            results = directory.create_users(tenant, batch)
            by_ref = {res.ref: res for res in results}
            now = self._clock()
            taken_meanwhile: list[dict[str, Any]] = []
            for r in pending:
                res = by_ref[str(r["row"])]
                if res.status == "exists":
                    # Someone else's account took the name after it was planned: never
                    # claim it; choose another name (below).
                    taken_meanwhile.append(r)
                elif res.status == "created" and res.user is not None:
                    # Created now, or by an earlier run of this plan (the account carries
                    # this plan's marker).
                    r["status"] = "created"
                    r["userId"] = res.user.user_id
                    self._store.upsert(
                        pk,
                        UserDoc(
                            id=UserDoc.doc_id(res.user.user_id),
                            user_id=res.user.user_id,
                            partner_id=str(partner["partnerId"]),
                            user_principal_name=res.user.user_principal_name,
                            display_name=r["displayName"],
                            given_name=r.get("givenName"),
                            surname=r.get("surname"),
                            email=r.get("email"),
                            created_at=now,
                            import_id=import_id,
                        ).to_doc(),
                    )
                elif res.status == "taken":
                    # The name is another object's e-mail address (Graph's proxyAddresses
                    # conflict, invisible to reads): never usable, choose another (below).
                    r["unusable"] = [*r.get("unusable", []), r["userPrincipalName"].lower()]
                    taken_meanwhile.append(r)
                else:
                    # The directory's own text goes to the log only, under a reference.
                    reference = _reference()
                    log.warning("import %s row %s: the directory refused the user [ref %s]: %s", import_id, r["row"], reference, res.error)
                    r["status"] = "failed"
                    r["error"] = f"the directory refused this user (correlation id {reference})"
            if taken_meanwhile:
                self._rename(pk, import_id, directory, tenant, taken_meanwhile)
            try:
                self._store.replace(pk, chunk.to_doc(), if_match=stored.etag)
            except PreconditionFailedError:
                continue  # a concurrent run saved progress; re-read and go on
            for status, count in Counter(str(r["status"]) for r in pending if r["status"] != "pending").items():
                telemetry.count("competency.import.rows", count, status=status)
            with contextlib.suppress(StoreError):  # only the sweep reads it: at worst a duplicate resume
                self._store.patch(pk, ImportDoc.doc_id(import_id), [PatchOp("set", "/progressAt", iso(now))])

    def _rename(self, pk: str, import_id: str, directory: Directory, tenant: str, rows: Sequence[dict[str, Any]]) -> None:
        """Rows whose planned name another account took meanwhile, or that is another
        object's address (``unusable``), get a new reserved name."""
        again = [r for r in rows if r.get("renamed", 0) < MAX_RENAMES]
        for r in rows:
            if r not in again:
                r["status"] = "failed"
                r["error"] = f"the user name {r['userPrincipalName']} was taken in the directory meanwhile"
        if not again:
            return
        wanted = [
            (r["row"], r.get("baseName") or rules.mail_nickname_of(r["userPrincipalName"]), r["userPrincipalName"].rpartition("@")[2])
            for r in again
        ]
        unusable = {name for r in again for name in r.get("unusable", [])}
        with _directory_call(keep=DirectoryPermissionError):
            upns = self._reserve_names(pk, import_id, directory, tenant, wanted, unusable=unusable)
        for r in again:
            r["userPrincipalName"] = upns[r["row"]]
            r["mailNickname"] = rules.mail_nickname_of(upns[r["row"]])
            r["renamed"] = r.get("renamed", 0) + 1

    # --- reading --------------------------------------------------------------------------------

    def get_import(self, partner_id: str, import_id: str) -> dict[str, Any]:
        stored = self._store.read(partner_pk(partner_id), ImportDoc.doc_id(import_id)) if _valid_id(import_id) else None
        if stored is None:
            raise NotFound("No such import for this partner.")
        doc = ImportDoc.from_doc(stored.body)
        return import_view(doc, self._rows(partner_pk(partner_id), doc), log_available=self._log_available(partner_id, import_id))

    def _log_available(self, partner_id: str, import_id: str) -> bool:
        """Whether the log file still holds the passwords (not downloaded, erased or expired)."""
        stored = self._store.read(partner_pk(partner_id), ImportLogDoc.doc_id(import_id))
        if stored is None:
            return False
        log_doc = ImportLogDoc.from_doc(stored.body)
        return not log_doc.erased and log_doc.downloaded_at is None and self._clock() < log_doc.expires_at

    def download_log(self, partner_id: str, import_id: str) -> str:
        """The log file, once: the passwords are erased as it is handed out."""
        pk = partner_pk(partner_id)
        stored = self._store.read(pk, ImportDoc.doc_id(import_id)) if _valid_id(import_id) else None
        if stored is None:
            raise NotFound("No such import for this partner.")
        doc = ImportDoc.from_doc(stored.body)
        if doc.state == "failed":
            raise Conflict(f"The import failed before it completed ({doc.error}); retry it with the same Idempotency-Key first.")
        if doc.state != "completed":
            raise Conflict("The import is still running; download the log file when it has completed.", headers={"Retry-After": "10"})
        log_stored = self._store.read(pk, ImportLogDoc.doc_id(import_id))
        if log_stored is None:
            raise Gone(LOG_GONE)
        log_doc = ImportLogDoc.from_doc(log_stored.body)
        now = self._clock()
        if log_doc.erased or log_doc.downloaded_at is not None or now >= log_doc.expires_at:
            self._erase(pk, log_doc, log_stored.etag)
            raise Gone(LOG_GONE)
        passwords = log_doc.passwords
        erased = log_doc.model_copy(
            update={"passwords": {}, "downloaded_at": now, "erased": True, "ttl": int(self._log_ttl.total_seconds())}
        )
        try:
            self._store.replace(pk, erased.to_doc(), if_match=log_stored.etag)
        except PreconditionFailedError:
            raise Gone("The log file was downloaded by someone else just now.") from None
        rows = []
        for r in self._rows(pk, doc):
            created = r["status"] == "created"
            rows.append(
                {
                    "userPrincipalName": r.get("userPrincipalName"),
                    "displayName": r.get("displayName"),
                    "temporaryPassword": passwords.get(str(r["row"])) if created else "",
                    "status": r["status"],
                    "message": r.get("error") or ("must change the password at first sign-in" if created else ""),
                }
            )
        return rules.log_csv(rows)

    def _erase(self, pk: str, log_doc: ImportLogDoc, etag: str) -> None:
        if log_doc.passwords:
            erased = log_doc.model_copy(update={"passwords": {}, "erased": True, "ttl": int(self._log_ttl.total_seconds())})
            with contextlib.suppress(PreconditionFailedError):
                self._store.replace(pk, erased.to_doc(), if_match=etag)

    def sweep_logs(self) -> int:
        """Erase the passwords of every log file past its expiry (hourly timer)."""
        now = self._clock()
        count = 0
        for stored in self._store.query_all(types=[ImportLogDoc.doc_type], where={"erased": False}):
            log_doc = ImportLogDoc.from_doc(stored.body)
            if now >= log_doc.expires_at:
                self._erase(stored.body["pk"], log_doc, stored.etag)
                count += 1
        return count

    def list_users(self, partner_id: str) -> dict[str, Any]:
        documents = self._store.query(partner_pk(partner_id), types=[UserDoc.doc_type, MsaMirrorDoc.doc_type])
        users = [UserDoc.from_doc(d.body) for d in documents if d.body["type"] == UserDoc.doc_type]
        mirrors = [MsaMirrorDoc.from_doc(d.body) for d in documents if d.body["type"] == MsaMirrorDoc.doc_type]
        linked = count_linked(mirrors)  # the MSA that counts for each user, as the evaluation sees it
        linked_at = {m.msa_id: m.linked_at for m in mirrors}
        users.sort(key=lambda u: (u.status != "active", u.display_name.lower(), u.user_id))
        return {
            "users": [
                {
                    "userId": u.user_id,
                    "userPrincipalName": u.user_principal_name,
                    "displayName": u.display_name,
                    "email": u.email,
                    "status": u.status,
                    "msaLinked": u.user_id in linked and u.status == "active",
                    "msaLinkedAt": iso(at) if u.user_id in linked and (at := linked_at.get(linked[u.user_id])) else None,
                }
                for u in users
            ]
        }

    def remove_user(self, partner: Mapping[str, Any], user_id: str) -> RemovedOut:
        """The employee leaves: marked departed, MSA association released, no longer counted.

        Only an account the suite created (through an import) is deleted from the directory;
        anyone else (a colleague who signed in to link an MSA) keeps their directory account.
        """
        partner_id = str(partner["partnerId"])
        pk = partner_pk(partner_id)
        stored = self._store.read(pk, UserDoc.doc_id(user_id)) if _valid_id(user_id) else None
        if stored is None:
            raise NotFound("No such user in this organisation.")
        user = UserDoc.from_doc(stored.body)
        created_here = user.import_id is not None
        if created_here:
            with _directory_call():
                self._directory().delete_user(str(partner["tenantId"]), user_id)
        if user.status != "departed":
            user.status = "departed"
            user.departed_at = self._clock()
            self._store.upsert(pk, user.to_doc())
        self._links.unlink_user(partner_id, user_id)
        return RemovedOut(user_id=user_id, status="departed", directory_account="deleted" if created_here else "kept")


@contextlib.contextmanager
def _directory_call(*, keep: type[DirectoryError] | None = None) -> Iterator[None]:
    """A directory that cannot be reached is a 503 the caller may retry, whatever the call;
    one that denies the app (consent missing) is a 403 naming the permission. ``keep``
    passes that kind of error through unchanged."""
    try:
        yield
    except DirectoryError as exc:
        if keep is not None and isinstance(exc, keep):
            raise
        if isinstance(exc, DirectoryPermissionError):
            raise _consent_problem(str(exc)) from None  # our own words, naming the permission
        # Graph's and the token service's own text is logged, never shown to the caller.
        reference = _reference()
        log.warning("the directory could not be reached [ref %s]: %s", reference, exc)
        raise ServiceUnavailable(f"The directory could not be reached; retry later (correlation id {reference}).") from None


def _reference() -> str:
    """The correlation id of this invocation (a new one outside an HTTP request)."""
    current = correlation_id.get()
    return current if current != "-" else uuid.uuid4().hex


def _consent_problem(reason: str) -> ProblemError:
    return Forbidden(
        f"The partner's directory refused the suite: {reason}.",
        title="Admin consent missing in the partner's directory",
        slug="directory-consent-missing",
    )


ERROR_CHARS = 500  # a row's error text is capped, so that a chunk of rows stays bounded


def _cap(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _bounded(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "error": _cap(row["error"])} if row.get("error") else row


def _valid_id(value: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9._-]{1,128}", value) is not None
