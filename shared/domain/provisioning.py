"""Adding users, pure: reading the bulk CSV, validating rows, deriving unique user names and
generating temporary passwords. No I/O (the directory and store are the service's)."""

from __future__ import annotations

import csv
import io
import re
import secrets
import string
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from shared.ports import DirectoryDomain

EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
NICKNAME_PATTERN = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}")
# The CSV columns of the legacy membership center export (header names, case-insensitive).
CSV_COLUMNS = {
    "first name": "givenName",
    "given name": "givenName",
    "last name": "surname",
    "surname": "surname",
    "email address": "email",
    "email": "email",
    "display name": "displayName",
    "mail nickname": "mailNickname",
}


class CsvError(ValueError):
    """The file as a whole cannot be read (not a row problem)."""


class CsvTooLarge(CsvError):
    """The file has more rows than one request may carry."""


class UserRow(BaseModel):
    """One user to add (a JSON item or a CSV row); unknown fields are rejected."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True)

    display_name: str = Field(min_length=1, max_length=256)
    mail_nickname: str | None = Field(default=None, max_length=64)
    given_name: str | None = Field(default=None, max_length=64)
    surname: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not EMAIL_PATTERN.fullmatch(value):
            raise ValueError("not an email address")
        return value.lower()

    @field_validator("mail_nickname")
    @classmethod
    def _nickname(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not NICKNAME_PATTERN.fullmatch(value):
            raise ValueError("letters, digits and !#$%&'*+-/=?^_`{|}~. only, at most 64")
        return value

    @field_validator("given_name", "surname")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


@dataclass(frozen=True)
class RowError:
    row: int
    error: str


def validate_rows(items: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[int, UserRow]], list[RowError]]:
    """Rows are numbered from 1 in input order (for a CSV: the data rows, header excluded)."""
    good: list[tuple[int, UserRow]] = []
    bad: list[RowError] = []
    for number, item in enumerate(items, start=1):
        try:
            good.append((number, UserRow.model_validate(item)))
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())
            bad.append(RowError(number, reasons))
    return good, bad


def read_csv(body: bytes, *, max_rows: int) -> list[dict[str, str]]:
    """The bulk-add CSV: header row required, UTF-8 with or without BOM, quoted fields, CRLF
    or LF, extra columns ignored. A row without a display name gets one from first and last
    name. Blank lines are skipped."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(f"The file is not UTF-8 (byte {exc.start}).") from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = next(reader, None)
        if header is None:
            raise CsvError("The file is empty; a header row is expected.")
        columns = [CSV_COLUMNS.get(name.strip().lower()) for name in header]
        if "displayName" not in columns and not {"givenName", "surname"} <= set(columns):
            raise CsvError("The header row needs a 'Display name' column (or 'First name' and 'Last name').")
        rows: list[dict[str, str]] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= max_rows:
                raise CsvTooLarge(f"The file has more than {max_rows} rows; split it.")
            row = {field: value.strip() for field, value in zip(columns, values, strict=False) if field}
            if not row.get("displayName"):
                derived = " ".join(p for p in (row.get("givenName"), row.get("surname")) if p)
                row["displayName"] = derived
            rows.append(row)
    except csv.Error as exc:
        raise CsvError(f"The file is not valid CSV: {exc}.") from None
    return rows


# --- user names -------------------------------------------------------------------------------


def normalise_local_part(source: str) -> str:
    """UPN local-part rules: ASCII letters, digits and . _ - ' ; no leading, trailing or double dot."""
    source = source.split("+", 1)[0]  # sub-addressing (ada+news) is not part of the name
    ascii_text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"\s+", ".", ascii_text.strip())
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "", ascii_text).lower()
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip(".")
    return cleaned[:56].rstrip(".") or "user"


def base_local_part(row: UserRow) -> str:
    if row.email:
        return normalise_local_part(row.email.split("@", 1)[0])
    if row.mail_nickname:
        return normalise_local_part(row.mail_nickname)
    return normalise_local_part(row.display_name)


def unique_upns(local_parts: Sequence[str], domain: str, taken: Callable[[Iterable[str]], set[str]]) -> list[str]:
    """One UPN per local part, unique within the list and against ``taken`` (the directory),
    numbered in input order (``sam``, ``sam2``, ``sam3``).

    ``taken(candidates)`` returns the lower-case candidates already in use; it is called once
    per round with every candidate of that round, so the directory is read in batches.
    """
    groups: dict[str, list[int]] = {}
    for i, local in enumerate(local_parts):
        groups.setdefault(local.lower(), []).append(i)
    chosen: dict[int, str] = {}
    checked: dict[str, bool] = {}  # candidate → in use
    size = {base: len(rows) for base, rows in groups.items()}
    for _ in range(10):
        wanted = [f"{base if n == 1 else f'{base}{n}'}@{domain}".lower() for base in groups for n in range(1, size[base] + 1)]
        fresh = [c for c in wanted if c not in checked]
        in_use = taken(fresh) if fresh else set()
        for candidate in fresh:
            checked[candidate] = candidate in in_use
        short = False
        chosen.clear()
        for base, rows in groups.items():
            used = set(chosen.values())  # "sam2" may be another row's own base name
            candidates = [f"{base if n == 1 else f'{base}{n}'}@{domain}".lower() for n in range(1, size[base] + 1)]
            free = [c for c in candidates if not checked[c] and c not in used]
            if len(free) < len(rows):
                size[base] += len(rows) - len(free) + 2
                short = True
                continue
            for i, upn in zip(rows, free, strict=False):
                chosen[i] = upn
        if not short:
            return [chosen[i] for i in range(len(local_parts))]
    raise RuntimeError("could not find free user names")


def choose_domain(domains: Sequence[DirectoryDomain], *, preferred: str | None = None) -> str | None:
    """The domain new users are created in: a verified managed one (password users cannot be
    created in a federated domain), the partner's primary domain when it is one, else the
    tenant's default, else the first; ``None`` when the tenant has none."""
    usable = [d for d in domains if d.is_verified and d.authentication_type.lower() == "managed"]
    for wanted in (lambda d: preferred is not None and d.name.lower() == preferred.lower(), lambda d: d.is_default, lambda d: True):
        for domain in usable:
            if wanted(domain):
                return domain.name
    return None


def mail_nickname_of(upn: str) -> str:
    return upn.split("@", 1)[0][:64]


# --- passwords --------------------------------------------------------------------------------

_LOWER = "abcdefghijkmnopqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "!#$%*+-=?@^_"


def temporary_password(length: int = 16) -> str:
    """Entra ID complexity (3 of 4 classes; here all 4), from ``secrets``, no look-alikes."""
    rng = secrets.SystemRandom()
    chars = [secrets.choice(_LOWER), secrets.choice(_UPPER), secrets.choice(_DIGITS), secrets.choice(_SYMBOLS)]
    alphabet = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    first = next(i for i, c in enumerate(chars) if c.isalpha())
    chars[0], chars[first] = chars[first], chars[0]  # a leading symbol reads as a formula in spreadsheets
    return "".join(chars)


def meets_complexity(password: str) -> bool:
    classes = [any(c in string.ascii_lowercase for c in password), any(c in string.ascii_uppercase for c in password)]
    classes += [any(c in string.digits for c in password), any(not c.isalnum() for c in password)]
    return 8 <= len(password) <= 256 and sum(classes) >= 3


LOG_COLUMNS = ("userPrincipalName", "displayName", "temporaryPassword", "status", "message")


def log_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The one-time log file: what each user needs to sign in the first time."""
    from shared.domain.spreadsheet import write_csv

    return write_csv(LOG_COLUMNS, ([row.get(column) or "" for column in LOG_COLUMNS] for row in rows))
