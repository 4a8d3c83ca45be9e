"""Program feeds: achievements keyed by MSA, and performance figures per partner.

Achievements are stored on the person's side (partition ``msa:{msaId}``) and copied to the
partner the MSA is linked to. The source is written before the link is read, and a relink
writes the link before it copies: whichever runs first, the new owner ends with the copy.

Feeds deliver at least once and in any order: of the records of one achievement (MSA, kind,
code) the newest is kept, by ``earnedOn`` then ``expiresOn`` (none: never expires, the
latest); an older record arriving late changes nothing. Every write of a source or a copy
goes through ``keep_newest`` (ETag-guarded), so no order of deliveries and relinks loses
the renewal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from shared.documents import AchievementDoc, ApiModel, MetricDoc, MsaLinkDoc, msa_pk, partner_pk, utc_now
from shared.domain.catalog import Catalog, PerformanceKind
from shared.ports import ConflictError, DocumentStore, NotFoundError, PreconditionFailedError

MAX_ACHIEVEMENTS_PER_BATCH = 1000
MAX_METRICS_PER_PUT = 500
MAX_ACHIEVEMENTS_BODY_BYTES = 2_000_000  # a full batch of achievements with long titles
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 .:+&/_-]{0,63}$"
MSA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"

Metric = PerformanceKind


class AchievementIn(ApiModel):
    msa_id: str = Field(pattern=MSA_ID_PATTERN)
    kind: Literal["certification", "exam", "assessment"]
    code: str = Field(pattern=CODE_PATTERN)
    title: str | None = Field(default=None, max_length=256)
    earned_on: date
    expires_on: date | None = Field(default=None, description="The last day the achievement counts (inclusive); none: it does not expire.")

    @model_validator(mode="after")
    def _expiry_after_earning(self) -> AchievementIn:
        if self.expires_on is not None and self.expires_on < self.earned_on:
            raise ValueError("expiresOn (the last day it counts) must not be before earnedOn")
        return self


class AchievementsIn(ApiModel):
    # Items are validated one by one so that one bad item rejects only itself; the published
    # schema is the item's own (AchievementIn), so the contract is closed all the same.
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "achievements": [
                    {
                        "msaId": "00000000-0000-0000-1234-56789abcdef0",
                        "kind": "exam",
                        "code": "70-533",
                        "earnedOn": "2026-01-10",
                        "expiresOn": "2028-01-09",
                    }
                ]
            }
        }
    )

    achievements: Annotated[
        list[dict[str, Any]],
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ACHIEVEMENTS_PER_BATCH,
                "items": AchievementIn.model_json_schema(by_alias=True),
            }
        ),
    ] = Field(min_length=1, max_length=MAX_ACHIEVEMENTS_PER_BATCH)


class RejectedAchievement(ApiModel):
    index: int = Field(description="Position of the item in the request's achievements (from 0).")
    msa_id: str | None = None
    code: str | None = None
    reason: str


class AchievementsOut(ApiModel):
    accepted: int = Field(description="Items that were valid (stored, or already stored as newer or equal).")
    unchanged: int = Field(0, description="Accepted items older than (or equal to) the record already kept: nothing changed.")
    rejected: list[RejectedAchievement]


def _recency(body: Mapping[str, Any]) -> tuple[str, str]:
    """How new a record of an achievement is: earnedOn, then expiresOn (none is the latest)."""
    return str(body["earnedOn"]), str(body.get("expiresOn") or "9999-12-31")


def keep_newest(store: DocumentStore, pk: str, doc: dict[str, Any], *, attempts: int = 8) -> bool:
    """Write an achievement record unless the stored one is as new or newer; True when written."""
    for _ in range(attempts):
        current = store.read(pk, doc["id"])
        if current is not None and _recency(current.body) >= _recency(doc):
            return False
        try:
            if current is None:
                store.create(pk, doc)
            else:
                store.replace(pk, doc, if_match=current.etag)
            return True
        except (ConflictError, PreconditionFailedError, NotFoundError):
            continue  # written meanwhile: compare again
    raise ConflictError("achievement record changed concurrently too often")


class MetricIn(ApiModel):
    metric: Metric
    competency_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    value: float = Field(ge=0, le=1e12, allow_inf_nan=False)


class PerformanceIn(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"asOf": "2026-10-31", "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 20000}]}
        }
    )

    as_of: date
    metrics: list[MetricIn] = Field(min_length=1, max_length=MAX_METRICS_PER_PUT)

    @field_validator("metrics")
    @classmethod
    def _one_figure_per_metric(cls, metrics: list[MetricIn]) -> list[MetricIn]:
        keys = [(m.competency_id, m.metric) for m in metrics]
        if len(keys) != len(set(keys)):
            raise ValueError("each (competencyId, metric) may appear once per asOf")
        return metrics


class PerformanceOut(ApiModel):
    partner_id: str
    as_of: date
    stored: int


class FeedService:
    def __init__(self, store: DocumentStore, catalog: Catalog, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._catalog = catalog
        self._clock = clock
        self._competencies = frozenset(c.competency_id for c in catalog.competencies)

    def post_achievements(self, items: list[dict[str, Any]]) -> AchievementsOut:
        from pydantic import ValidationError

        accepted: list[AchievementIn] = []
        rejected: list[RejectedAchievement] = []
        for index, item in enumerate(items):
            msa_id = item.get("msaId") if isinstance(item, dict) and isinstance(item.get("msaId"), str) else None
            code = item.get("code") if isinstance(item, dict) and isinstance(item.get("code"), str) else None
            try:
                achievement = AchievementIn.model_validate(item)
            except ValidationError as exc:
                reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors(include_url=False))
                rejected.append(RejectedAchievement(index=index, msa_id=msa_id, code=code, reason=reasons))
                continue
            listed = self._catalog.exam_by_code.get(achievement.code)
            if listed is not None and listed.kind != achievement.kind:
                reason = f"kind: the catalog lists {achievement.code} as {listed.kind}, not {achievement.kind}"
                rejected.append(RejectedAchievement(index=index, msa_id=msa_id, code=code, reason=reason))
                continue
            accepted.append(achievement)
        # The same achievement twice in one batch is one: the newest wins, as across batches.
        unique: dict[tuple[str, str, str], AchievementIn] = {}
        for a in accepted:
            key = (a.msa_id, a.kind, a.code)
            kept = unique.get(key)
            if kept is None or (a.earned_on, a.expires_on or date.max) > (kept.earned_on, kept.expires_on or date.max):
                unique[key] = a
        unchanged = len(accepted) - len(unique)
        by_msa: dict[str, list[AchievementIn]] = defaultdict(list)
        for achievement in unique.values():
            by_msa[achievement.msa_id].append(achievement)
        now = self._clock()
        for msa_id in sorted(by_msa):
            docs = [
                AchievementDoc(
                    id=AchievementDoc.source_id(a.kind, a.code),
                    msa_id=msa_id,
                    kind=a.kind,
                    code=a.code,
                    title=a.title,
                    earned_on=a.earned_on,
                    expires_on=a.expires_on,
                    received_at=now,
                )
                for a in by_msa[msa_id]
            ]
            written = [doc for doc in docs if keep_newest(self._store, msa_pk(msa_id), doc.to_doc())]
            unchanged += len(docs) - len(written)
            link = self._store.read(msa_pk(msa_id), "link")
            if link is not None:
                owner = MsaLinkDoc.from_doc(link.body)
                if owner.state == "linked" and owner.partner_id:
                    # Copy what the source now holds (a retried batch re-copies: idempotent).
                    for doc in docs:
                        source = self._store.read(msa_pk(msa_id), doc.id)
                        if source is not None:
                            copy = {**source.body, "id": AchievementDoc.copy_id(msa_id, doc.kind, doc.code)}
                            keep_newest(self._store, partner_pk(owner.partner_id), copy)
        return AchievementsOut(accepted=len(accepted), unchanged=unchanged, rejected=rejected)

    def put_performance(self, partner_id: str, body: PerformanceIn) -> PerformanceOut:
        from shared.errors import ValidationFailed

        unknown = sorted({m.competency_id for m in body.metrics} - self._competencies)
        if unknown:
            raise ValidationFailed(
                "Unknown competency: " + ", ".join(unknown),
                errors=[
                    {"pointer": f"#/metrics/{i}/competencyId", "detail": "not in the catalog"}
                    for i, m in enumerate(body.metrics)
                    if m.competency_id in unknown
                ],
            )
        now = self._clock()
        for m in body.metrics:
            doc = MetricDoc(
                id=MetricDoc.doc_id(m.competency_id, m.metric, body.as_of),
                competency_id=m.competency_id,
                metric=m.metric,
                as_of=body.as_of,
                value=m.value,
                received_at=now,
            )
            self._store.upsert(partner_pk(partner_id), doc.to_doc())
        return PerformanceOut(partner_id=partner_id, as_of=body.as_of, stored=len(body.metrics))
