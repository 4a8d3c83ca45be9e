"""Program operations on a partner: achievement overrides (audited) and the skills report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from shared.documents import (
    AchievementDoc,
    ApiModel,
    MsaMirrorDoc,
    OverrideDoc,
    UserDoc,
    iso,
    partner_pk,
    utc_now,
)
from shared.domain.spreadsheet import write_csv
from shared.errors import ValidationFailed
from shared.ports import DocumentStore

DEFAULT_OVERRIDE_DAYS = 91  # "typically lasts 3 months"
OVERRIDE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class OverrideIn(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "competencyId": "cloud-platform",
                "level": "silver",
                "pathId": "azure-consumption",
                "reason": "Consumption figures delayed by the program",
                "expiresOn": "2027-02-28",
            }
        }
    )

    competency_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    level: Literal["silver", "gold"]
    path_id: str | None = Field(
        default=None,
        max_length=64,
        description="With no requirementId: the whole path counts as met through expiresOn. Absent: the whole level.",
    )
    requirement_id: str | None = Field(
        default=None, max_length=64, description="One requirement of pathId counts as met through expiresOn (needs pathId)."
    )
    reason: str = Field(min_length=3, max_length=1000)
    expires_on: date | None = Field(default=None, description="The last day the override applies (inclusive); default 3 months.")

    @model_validator(mode="after")
    def _requirement_needs_path(self) -> OverrideIn:
        if self.requirement_id and not self.path_id:
            raise ValueError("requirementId needs pathId")
        return self


class OverrideOut(ApiModel):
    override_id: str
    partner_id: str
    competency_id: str
    level: str
    path_id: str | None
    requirement_id: str | None
    reason: str
    expires_on: date
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    active: bool


class ProgramService:
    def __init__(
        self, store: DocumentStore, catalog_api: Callable[[], Mapping[str, Any]], *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._store = store
        self._catalog_api = catalog_api
        self._clock = clock

    # --- overrides ---------------------------------------------------------------------------

    def put_override(self, partner_id: str, override_id: str, body: OverrideIn, *, actor: str) -> tuple[OverrideOut, bool]:
        import re

        if not re.fullmatch(OVERRIDE_ID_PATTERN, override_id):
            raise ValidationFailed("The override id must be 1-64 letters, digits, '.', '_' or '-'.")
        self._check_target(body)
        now = self._clock()
        expires_on = body.expires_on or (now.date() + timedelta(days=DEFAULT_OVERRIDE_DAYS))
        if expires_on <= now.date():
            raise ValidationFailed("expiresOn must be in the future.", errors=[{"pointer": "#/expiresOn", "detail": "in the past"}])
        pk = partner_pk(partner_id)
        stored = self._store.read(pk, OverrideDoc.doc_id(override_id))
        previous = OverrideDoc.from_doc(stored.body) if stored else None
        audit = {
            "at": iso(now),
            "by": actor,
            "action": "created" if previous is None else "updated",
            "reason": body.reason,
            "expiresOn": expires_on.isoformat(),
            "target": {
                "competencyId": body.competency_id,
                "level": body.level,
                "pathId": body.path_id,
                "requirementId": body.requirement_id,
            },
        }
        doc = OverrideDoc(
            id=OverrideDoc.doc_id(override_id),
            override_id=override_id,
            competency_id=body.competency_id,
            level=body.level,
            path_id=body.path_id,
            requirement_id=body.requirement_id,
            reason=body.reason,
            expires_on=expires_on,
            created_by=previous.created_by if previous else actor,
            created_at=previous.created_at if previous else now,
            updated_by=actor,
            updated_at=now,
            history=[*(previous.history if previous else []), audit],
        )
        if stored is None:
            self._store.create(pk, doc.to_doc())
        else:
            self._store.replace(pk, doc.to_doc(), if_match=stored.etag)
        return self._out(partner_id, doc), previous is None

    def _check_target(self, body: OverrideIn) -> None:
        catalog = self._catalog_api()
        competency = next((c for c in catalog["competencies"] if c["competencyId"] == body.competency_id), None)
        if competency is None:
            raise ValidationFailed(
                f"Unknown competency '{body.competency_id}'.", errors=[{"pointer": "#/competencyId", "detail": "not in the catalog"}]
            )
        level = next((lv for lv in competency["levels"] if lv["level"] == body.level), None)
        if level is None:
            raise ValidationFailed(f"{body.competency_id} has no {body.level} level.")
        if body.path_id is None:
            return
        path = next((p for p in level["paths"] if p["pathId"] == body.path_id), None)
        if path is None:
            raise ValidationFailed(
                f"Unknown path '{body.path_id}' at {body.level}.", errors=[{"pointer": "#/pathId", "detail": "not in the catalog"}]
            )
        if body.requirement_id and not any(r["requirementId"] == body.requirement_id for r in path["requirements"]):
            raise ValidationFailed(
                f"Unknown requirement '{body.requirement_id}' in path '{body.path_id}'.",
                errors=[{"pointer": "#/requirementId", "detail": "not in the catalog"}],
            )

    def _out(self, partner_id: str, doc: OverrideDoc) -> OverrideOut:
        return OverrideOut(
            override_id=doc.override_id,
            partner_id=partner_id,
            competency_id=doc.competency_id,
            level=doc.level,
            path_id=doc.path_id,
            requirement_id=doc.requirement_id,
            reason=doc.reason,
            expires_on=doc.expires_on,
            created_by=doc.created_by,
            created_at=doc.created_at,
            updated_by=doc.updated_by,
            updated_at=doc.updated_at,
            active=self._clock().date() <= doc.expires_on,
        )

    # --- skills report -----------------------------------------------------------------------

    def skills_report(self, partner_id: str, latest_evaluation: Mapping[str, Any] | None) -> str:
        """CSV: one row per person and achievement, and what it counts toward (or why not)."""
        docs = self._store.query(partner_pk(partner_id), types=["user", "msaMirror", "achievement"])
        users = [UserDoc.from_doc(d.body) for d in docs if d.body["type"] == "user"]
        mirrors = [MsaMirrorDoc.from_doc(d.body) for d in docs if d.body["type"] == "msaMirror"]
        achievements = [AchievementDoc.from_doc(d.body) for d in docs if d.body["type"] == "achievement"]
        from shared.services.msa_association import count_linked

        linked = count_linked(mirrors)
        by_msa: dict[str, list[AchievementDoc]] = {}
        for a in achievements:
            by_msa.setdefault(a.msa_id, []).append(a)
        counted = _counted_toward(latest_evaluation, self._catalog_api())
        grace = {e["code"]: date.fromisoformat(e["acceptedUntil"]) for e in self._catalog_api().get("exams", []) if e.get("acceptedUntil")}
        titles = {e["code"]: e["title"] for e in self._catalog_api().get("exams", [])}
        today = self._clock().date()
        rows: list[list[str]] = []
        header = (
            "userId",
            "userPrincipalName",
            "displayName",
            "status",
            "msaLinked",
            "msaId",
            "kind",
            "code",
            "title",
            "earnedOn",
            "expiresOn",
            "countsToward",
            "notCountedBecause",
        )
        for user in sorted(users, key=lambda u: (u.display_name.lower(), u.user_id)):
            msa_id = linked.get(user.user_id)
            items = sorted(by_msa.get(msa_id, []), key=lambda a: (a.code, a.kind)) if msa_id else []
            base = [user.user_id, user.user_principal_name, user.display_name, user.status, "yes" if msa_id else "no", msa_id or ""]
            if not items:
                reason = "departed" if user.status != "active" else ("no achievements received" if msa_id else "MSA not linked")
                rows.append([*base, "", "", "", "", "", "", reason])
                continue
            for a in items:
                accepted_until = grace.get(a.code)
                retired = accepted_until is not None and accepted_until < today
                expired = a.expires_on is not None and a.expires_on < today  # expiresOn is the last day it counts
                valid = not expired and not retired and a.earned_on <= today
                # A contributor may hold several of a requirement's codes: only valid ones count.
                toward = sorted(counted.get((user.user_id, a.code), set())) if valid else []
                reason = ""
                if not toward:
                    if user.status != "active":
                        reason = "departed"
                    elif expired:
                        reason = "expired"
                    elif retired:
                        reason = f"retired exam, accepted until {accepted_until.isoformat() if accepted_until else ''}"
                    elif a.earned_on > today:
                        reason = "not yet earned"
                    elif not _listed(a.code, self._catalog_api()):
                        reason = "not listed by any competency"
                    else:
                        reason = "not needed by a met requirement (see the evaluation)"
                rows.append(
                    [
                        *base,
                        a.kind,
                        a.code,
                        a.title or titles.get(a.code, ""),
                        a.earned_on.isoformat(),
                        a.expires_on.isoformat() if a.expires_on else "",
                        "; ".join(toward),
                        reason,
                    ]
                )
        return write_csv(header, rows)


def _codes(requirement: Mapping[str, Any]) -> set[str]:
    codes = set(requirement.get("allOf") or []) | set(requirement.get("anyOf") or [])
    return codes | {code for group in requirement.get("anyOfSets") or [] for code in group}


def _listed(code: str, catalog: Mapping[str, Any]) -> bool:
    return any(code in _codes(r) for c in catalog["competencies"] for lv in c["levels"] for p in lv["paths"] for r in p["requirements"])


def _counted_toward(evaluation: Mapping[str, Any] | None, catalog: Mapping[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(userId, code) → "competency level (requirement)" labels where the person contributes."""
    if not evaluation:
        return {}
    codes_by_requirement = {
        (c["competencyId"], lv["level"], p["pathId"], r["requirementId"]): _codes(r)
        for c in catalog["competencies"]
        for lv in c["levels"]
        for p in lv["paths"]
        for r in p["requirements"]
    }
    result: dict[tuple[str, str], set[str]] = {}
    for c in evaluation.get("competencies", []):
        for lv in c.get("levels", []):
            for p in lv.get("paths", []):
                for r in p.get("requirements", []):
                    codes = codes_by_requirement.get((c["competencyId"], lv["level"], p["pathId"], r["requirementId"]), set())
                    for user_id in r.get("contributors", []):
                        for code in codes:
                            result.setdefault((user_id, code), set()).add(f"{c['competencyId']} {lv['level']} ({r['requirementId']})")
    return result
