"""A seeded generator of partners as the nightly evaluation sees them: users, MSA links (both
sides), achievements (some expired, some expiring), performance figures."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.documents import (
    AchievementDoc,
    MetricDoc,
    MsaLinkDoc,
    MsaMirrorDoc,
    Partner,
    TenantIndex,
    UserDoc,
    msa_pk,
    partner_pk,
    tenant_pk,
)
from shared.domain.catalog import Catalog
from shared.ports import DocumentStore

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 2, tzinfo=UTC)


def partner_documents(
    catalog: Catalog, index: int, employees: int, achievements_per: int, rng: random.Random, months: int = 14
) -> dict[str, list[dict[str, Any]]]:
    """Documents by partition key for one partner (its own partition and its people's MSAs)."""
    partner_id = f"bench-{index:05d}"
    tenant_id = f"00000000-0000-0000-0000-{index:012d}"
    skill_codes = sorted(
        {c for comp in catalog.competencies for lv in comp.levels for p in lv.paths for r in p.requirements for c in r.codes}
    )
    pk = partner_pk(partner_id)
    docs: dict[str, list[dict[str, Any]]] = {pk: [], tenant_pk(tenant_id): []}
    docs[pk].append(
        Partner(
            id=partner_id, partner_id=partner_id, display_name=f"Bench {index}", tenant_id=tenant_id, created_at=NOW, updated_at=NOW
        ).to_doc()
    )
    docs[tenant_pk(tenant_id)].append(TenantIndex(id=tenant_id, tenant_id=tenant_id, partner_id=partner_id).to_doc())
    for e in range(employees):
        user_id = f"{partner_id}-u{e:04d}"
        msa_id = f"{partner_id}-m{e:04d}"
        status = "departed" if rng.random() < 0.05 else "active"
        docs[pk].append(
            UserDoc(
                id=UserDoc.doc_id(user_id),
                user_id=user_id,
                partner_id=partner_id,
                user_principal_name=f"u{e}@bench{index}.example",
                display_name=f"User {e}",
                status=status,
                created_at=NOW,
            ).to_doc()
        )
        if rng.random() < 0.9:
            docs[pk].append(
                MsaMirrorDoc(
                    id=MsaMirrorDoc.doc_id(msa_id), msa_id=msa_id, user_id=user_id, state="linked", epoch=1, linked_at=NOW
                ).to_doc()
            )
            docs[msa_pk(msa_id)] = [
                MsaLinkDoc(
                    id="link", msa_id=msa_id, state="linked", partner_id=partner_id, user_id=user_id, epoch=1, linked_at=NOW
                ).to_doc()
            ]
        for _ in range(achievements_per):
            code = rng.choice(skill_codes)
            kind = catalog.exam_by_code[code].kind
            earned = TODAY - timedelta(days=rng.randint(1, 900))
            roll = rng.random()
            expires = (
                None
                if roll < 0.5
                else TODAY - timedelta(days=rng.randint(1, 300))
                if roll < 0.7
                else TODAY + timedelta(days=rng.randint(1, 400))
            )
            docs[pk].append(
                AchievementDoc(
                    id=AchievementDoc.copy_id(msa_id, kind, code),
                    msa_id=msa_id,
                    kind=kind,
                    code=code,
                    earned_on=earned,
                    expires_on=expires,
                    received_at=NOW,
                ).to_doc()
            )
    for comp in catalog.competencies:
        # Monthly figures of the metrics the competency's requirements use (14 months by default).
        metrics = sorted({r.kind for lv in comp.levels for p in lv.paths for r in p.requirements if not r.is_skill})
        for metric in metrics:
            for month in range(months):
                as_of = TODAY - timedelta(days=30 * month + 5)
                docs[pk].append(
                    MetricDoc(
                        id=MetricDoc.doc_id(comp.competency_id, metric, as_of),
                        competency_id=comp.competency_id,
                        metric=metric,
                        as_of=as_of,
                        value=rng.randint(0, 60000),
                        received_at=NOW,
                    ).to_doc()
                )
    return docs


def seed(
    store: DocumentStore,
    catalog: Catalog,
    *,
    partners: int,
    employees: int,
    achievements_per: int,
    seed: int = 7,
    first: int = 0,
    months: int = 14,
) -> list[str]:
    rng = random.Random(seed + first)
    ids = []
    bulk = getattr(store, "upsert_many", None)
    for index in range(first, first + partners):
        for pk, documents in partner_documents(catalog, index, employees, achievements_per, rng, months).items():
            if bulk is not None:
                bulk(pk, documents)
            else:
                for doc in documents:
                    store.upsert(pk, doc)
        ids.append(f"bench-{index:05d}")
    return ids


def seed_many(store: DocumentStore, catalog: Catalog, *, partners: int, first: int = 0, employees: int = 5) -> list[str]:
    """Many small partners fast (the partner-count scaling curve): one generated partner's own
    partition, copied under each new partner id (the evaluation reads only that partition)."""
    template_id = "bench-tmpl00"
    docs = partner_documents(catalog, 0, employees, 2, random.Random(7), months=2)[partner_pk("bench-00000")]
    text = json.dumps(docs).replace("bench-00000", template_id)
    ids = [f"bench-{index:06d}" for index in range(first, first + partners)]
    clone = getattr(store, "clone_partition", None)
    if clone is None:
        for partner_id in ids:
            for doc in json.loads(text.replace(template_id, partner_id)):
                store.upsert(partner_pk(partner_id), doc)
        return ids
    for doc in json.loads(text):
        store.upsert(partner_pk(template_id), doc)
    for start in range(0, len(ids), 5000):
        clone(partner_pk(template_id), template_id, ids[start : start + 5000])
    return ids
