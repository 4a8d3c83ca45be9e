"""MSA associations: one organisation at a time, crash-safe without cross-partition transactions.

The link document (partition ``msa:{msaId}``, id ``link``) says who owns the MSA and carries
an ``epoch`` that grows with every change. Each partner sees the MSA through a mirror in its
own partition (what its evaluation reads), written for an epoch and never overwritten by an
older one. Every operation, before it changes the owner, first completes the previous change
(severs the owner before it, makes the current owner's mirror linked); then it writes the
new owner under an ETag condition (so of two concurrent relinks exactly one wins), severs
the previous owner, copies the person's achievements, and only then marks the new owner's
mirror linked. Consequences, for any crash point or any interleaving:

- at most one partner has a linked mirror of an MSA at any instant, so an MSA never counts
  for two partners in any evaluation;
- a retried or later operation finishes what a crashed one left half-done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.documents import (
    AchievementDoc,
    MsaLinkDoc,
    MsaMirrorDoc,
    msa_pk,
    partner_pk,
    utc_now,
)
from shared.errors import Conflict
from shared.ports import ConflictError, DocumentStore, NotFoundError, PreconditionFailedError
from shared.services.feeds import keep_newest

LINK_ID = "link"
_STATE_RANK = {"severed": 0, "linked": 1}
MAX_ORGANISATION_CHANGES_PER_YEAR = 5
MIRROR_WRITE_ATTEMPTS = 10  # concurrent writers of one mirror: re-read and compare epochs this often


@dataclass(frozen=True)
class LinkResult:
    msa_id: str
    partner_id: str
    user_id: str
    linked_at: datetime
    severed_partner_id: str | None


class LinkService:
    """``fault`` is called after each write with its name: tests inject crashes there."""

    def __init__(
        self,
        store: DocumentStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        fault: Callable[[str], None] | None = None,
        max_changes_per_year: int = MAX_ORGANISATION_CHANGES_PER_YEAR,
    ) -> None:
        self._store = store
        self._clock = clock
        self._fault = fault or (lambda _point: None)
        self._max_changes = max_changes_per_year

    # --- reads -------------------------------------------------------------------------------

    def link_document(self, msa_id: str) -> tuple[MsaLinkDoc, str] | None:
        stored = self._store.read(msa_pk(msa_id), LINK_ID)
        return (MsaLinkDoc.from_doc(stored.body), stored.etag) if stored else None

    def linked_msa_of_user(self, partner_id: str, user_id: str) -> MsaMirrorDoc | None:
        mirrors = [
            MsaMirrorDoc.from_doc(s.body)
            for s in self._store.query(partner_pk(partner_id), types=[MsaMirrorDoc.doc_type], where={"userId": user_id, "state": "linked"})
        ]
        counted = count_linked(mirrors).get(user_id)  # the same rule as the evaluation's
        return next((m for m in mirrors if m.msa_id == counted), None)

    # --- operations --------------------------------------------------------------------------

    def link(self, msa_id: str, partner_id: str, user_id: str) -> LinkResult:
        current = self.link_document(msa_id)
        if current is not None:
            self._complete(current[0])
            doc, _etag = current
            if doc.state == "linked" and doc.partner_id == partner_id and doc.user_id == user_id:
                # Relinking to the same user changes nothing (but finishes any crashed work).
                # A retry answers what the first attempt would have answered.
                assert doc.linked_at is not None
                self._unlink_other_msas(partner_id, user_id, keep=msa_id)
                severed = doc.previous_partner_id if doc.previous_partner_id != partner_id else None
                return LinkResult(msa_id, partner_id, user_id, doc.linked_at, severed)
        now = self._clock()
        previous = current[0] if current else None
        moving = previous is not None and previous.state == "linked" and previous.partner_id != partner_id
        relinks = [t for t in (previous.relinks if previous else []) if t > now - timedelta(days=365)]
        if moving:
            if len(relinks) >= self._max_changes:
                raise Conflict(
                    f"This Microsoft account changed organisation {len(relinks)} times in the last year; "
                    "the program allows no more until a year has passed since the earliest change."
                )
            relinks.append(now)
        new = MsaLinkDoc(
            id=LINK_ID,
            msa_id=msa_id,
            state="linked",
            partner_id=partner_id,
            user_id=user_id,
            epoch=(previous.epoch if previous else 0) + 1,
            linked_at=now,
            previous_partner_id=previous.partner_id if previous and previous.state == "linked" else None,
            previous_user_id=previous.user_id if previous and previous.state == "linked" else None,
            relinks=relinks,
        )
        self._write_link(new, current[1] if current else None)
        self._fault("link-written")
        self._complete(new)
        self._unlink_other_msas(partner_id, user_id, keep=msa_id)
        severed = new.previous_partner_id if new.previous_partner_id != partner_id else None
        return LinkResult(msa_id, partner_id, user_id, now, severed)

    def unlink_msa(self, msa_id: str) -> str | None:
        """End the MSA's association; returns the partner it was linked to, if any."""
        current = self.link_document(msa_id)
        if current is None:
            return None
        doc, etag = current
        self._complete(doc)
        if doc.state != "linked":
            return None
        new = doc.model_copy(
            update={
                "state": "unlinked",
                "partner_id": None,
                "user_id": None,
                "epoch": doc.epoch + 1,
                "linked_at": None,
                "previous_partner_id": doc.partner_id,
                "previous_user_id": doc.user_id,
            }
        )
        self._write_link(new, etag)
        self._fault("unlink-written")
        self._complete(new)
        return doc.partner_id

    def unlink_user(self, partner_id: str, user_id: str) -> bool:
        """The user's MSA (if any) stops counting for the partner; True when one was linked."""
        mirror = self.linked_msa_of_user(partner_id, user_id)
        if mirror is None:
            return False
        link = self.link_document(mirror.msa_id)
        if link and link[0].state == "linked" and link[0].partner_id == partner_id and link[0].user_id == user_id:
            self.unlink_msa(mirror.msa_id)
        else:
            # The mirror is stale (a crashed relink): complete the link document's state.
            if link:
                self._complete(link[0])
            self._write_mirror(partner_id, mirror.msa_id, user_id=user_id, state="severed", epoch=mirror.epoch + 1)
        return True

    # --- the protocol's steps ----------------------------------------------------------------

    def _write_link(self, doc: MsaLinkDoc, etag: str | None) -> None:
        try:
            if etag is None:
                self._store.create(msa_pk(doc.msa_id), doc.to_doc())
            else:
                self._store.replace(msa_pk(doc.msa_id), doc.to_doc(), if_match=etag)
        except (ConflictError, PreconditionFailedError):
            raise Conflict(
                "This Microsoft account was linked or unlinked by another request at the same time; "
                "nothing was changed by this one. Try again."
            ) from None

    def _complete(self, doc: MsaLinkDoc) -> None:
        """Bring the mirrors in line with ``doc`` (idempotent; finishes a crashed operation)."""
        if doc.previous_partner_id and (doc.state != "linked" or doc.previous_partner_id != doc.partner_id):
            self._write_mirror(
                doc.previous_partner_id,
                doc.msa_id,
                user_id=doc.previous_user_id or "",
                state="severed",
                epoch=doc.epoch,
                severed_to=doc.partner_id,
            )
            self._fault("previous-severed")
            self._drop_copies(doc.previous_partner_id, doc.msa_id)
        if doc.state == "linked" and doc.partner_id and doc.user_id:
            self._copy_achievements(doc.msa_id, doc.partner_id)
            self._fault("achievements-copied")
            self._write_mirror(doc.partner_id, doc.msa_id, user_id=doc.user_id, state="linked", epoch=doc.epoch, linked_at=doc.linked_at)
            self._fault("mirror-linked")

    def _write_mirror(
        self,
        partner_id: str,
        msa_id: str,
        *,
        user_id: str,
        state: str,
        epoch: int,
        linked_at: datetime | None = None,
        severed_to: str | None = None,
    ) -> None:
        """Write the partner's view for ``epoch`` unless a newer (or equal and stronger) one is there."""
        pk = partner_pk(partner_id)
        doc_id = MsaMirrorDoc.doc_id(msa_id)
        for _ in range(MIRROR_WRITE_ATTEMPTS):
            stored = self._store.read(pk, doc_id)
            if stored is not None:
                existing = MsaMirrorDoc.from_doc(stored.body)
                if (existing.epoch, _STATE_RANK[existing.state]) >= (epoch, _STATE_RANK[state]):
                    return
                if state == "severed":
                    user_id = existing.user_id  # keep who it was, for the report
            mirror = MsaMirrorDoc(
                id=doc_id,
                msa_id=msa_id,
                user_id=user_id,
                state=state,
                epoch=epoch,
                linked_at=linked_at,
                severed_at=self._clock() if state == "severed" else None,
                severed_to_partner_id=severed_to,
            )
            try:
                if stored is None:
                    self._store.create(pk, mirror.to_doc())
                else:
                    self._store.replace(pk, mirror.to_doc(), if_match=stored.etag)
                return
            except (ConflictError, PreconditionFailedError):
                continue  # someone else wrote it meanwhile: re-read and compare epochs again
        raise Conflict("The link could not be recorded because of concurrent changes; try again.")

    def _copy_achievements(self, msa_id: str, partner_id: str) -> None:
        for stored in self._store.query(msa_pk(msa_id), types=[AchievementDoc.doc_type]):
            source = AchievementDoc.from_doc(stored.body)
            copy = {**stored.body, "id": AchievementDoc.copy_id(msa_id, source.kind, source.code)}
            keep_newest(self._store, partner_pk(partner_id), copy)

    def _drop_copies(self, partner_id: str, msa_id: str) -> None:
        """The previous organisation keeps no copy of the person's achievements."""
        for stored in self._store.query(partner_pk(partner_id), types=[AchievementDoc.doc_type], where={"msaId": msa_id}):
            with contextlib.suppress(NotFoundError):
                self._store.delete(partner_pk(partner_id), stored.body["id"])

    def _unlink_other_msas(self, partner_id: str, user_id: str, *, keep: str) -> None:
        """A user has one MSA at a time: linking a new one ends the old one's link."""
        for stored in self._store.query(
            partner_pk(partner_id), types=[MsaMirrorDoc.doc_type], where={"userId": user_id, "state": "linked"}
        ):
            if stored.body["msaId"] != keep:
                link = self.link_document(stored.body["msaId"])
                if link and link[0].partner_id == partner_id and link[0].user_id == user_id:
                    self.unlink_msa(stored.body["msaId"])


class MirrorLike(Protocol):
    @property
    def msa_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def linked_at(self) -> datetime | None: ...


def count_linked(mirrors: Sequence[MirrorLike]) -> dict[str, str]:
    """user id → the MSA that counts for them (the most recently linked, if a crash left two)."""
    best: dict[str, MirrorLike] = {}
    for mirror in mirrors:
        if mirror.state != "linked":
            continue
        held = best.get(mirror.user_id)
        if held is None or _recency(mirror) > _recency(held):
            best[mirror.user_id] = mirror
    return {user_id: mirror.msa_id for user_id, mirror in best.items()}


def _recency(mirror: MirrorLike) -> tuple[str, str]:
    return (mirror.linked_at.isoformat() if mirror.linked_at else "", mirror.msa_id)
