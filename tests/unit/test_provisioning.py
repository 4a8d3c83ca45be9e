"""Adding users, pure rules: the CSV as exported, row validation, user names, passwords."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import provisioning as p
from shared.ports import DirectoryDomain


def test_the_csv_export_reads_with_bom_quotes_crlf_and_extra_columns() -> None:
    body = (
        "\ufeffFirst name,Last name,Email address,Display name,Office\r\n"
        '"Ada","Lovelace","ADA@x.com","Lovelace, Ada",HQ\r\n\r\nGrace,Hopper,g@x.com,,\n'
    )
    rows = p.read_csv(body.encode(), max_rows=10)
    assert rows == [
        {"givenName": "Ada", "surname": "Lovelace", "email": "ADA@x.com", "displayName": "Lovelace, Ada"},
        {"givenName": "Grace", "surname": "Hopper", "email": "g@x.com", "displayName": "Grace Hopper"},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "empty"), (b"Office\nHQ\n", "Display name"), (b"\xff\xfeA", "UTF-8"), (b'Display name\n"unterminated\n', "CSV")],
)
def test_an_unreadable_file_is_refused_as_a_whole(body: bytes, message: str) -> None:
    with pytest.raises(p.CsvError, match=message):
        p.read_csv(body, max_rows=10)


def test_a_file_over_the_row_limit_is_refused() -> None:
    with pytest.raises(p.CsvError, match="more than 2"):
        p.read_csv(b"Display name\na\nb\nc\n", max_rows=2)


def test_rows_are_validated_one_by_one() -> None:
    good, bad = p.validate_rows(
        [{"displayName": "Ok"}, {"displayName": ""}, {"displayName": "X", "email": "nope"}, {"displayName": "Y", "tenantId": "t"}]
    )
    assert [n for n, _ in good] == [1]
    assert [(e.row, "displayName" in e.error or "email" in e.error or "tenantId" in e.error) for e in bad] == [
        (2, True),
        (3, True),
        (4, True),
    ]


@pytest.mark.parametrize(
    ("source", "local"),
    [("Ada.Lovelace", "ada.lovelace"), ("José Núñez", "jose.nunez"), ("..a..b..", "a.b"), ("名前", "user"), ("o'brien+x", "obrien")],
)
def test_user_names_follow_the_upn_character_rules(source: str, local: str) -> None:
    assert p.normalise_local_part(source) == local


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["sam", "sam2", "ada", "x"]), max_size=12),
    st.sets(st.sampled_from(["sam", "sam2", "sam3", "ada", "ada2", "x4"])),
)
def test_derived_names_are_unique_and_never_taken(locals_: list[str], existing: set[str]) -> None:
    taken_names = {f"{e}@c.com" for e in existing}
    calls: list[int] = []

    def taken(candidates: Iterable[str]) -> set[str]:
        candidates = list(candidates)
        calls.append(len(candidates))
        return {c for c in candidates if c in taken_names}

    upns = p.unique_upns(locals_, "c.com", taken)
    assert len(upns) == len(locals_) == len(set(upns))
    assert not set(upns) & taken_names
    assert all(u.startswith(base) for u, base in zip(upns, locals_, strict=True))
    assert len(calls) <= 6  # batched: a few rounds (at most 4 seen in 5,000 runs), not one read per name


def test_same_names_are_numbered_in_input_order() -> None:
    assert p.unique_upns(["sam", "sam", "sam"], "c.com", lambda c: {"sam@c.com"}) == ["sam2@c.com", "sam3@c.com", "sam4@c.com"]


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=10))
def test_temporary_passwords_meet_entra_complexity_and_do_not_start_with_a_formula(_: int) -> None:
    password = p.temporary_password()
    assert p.meets_complexity(password) and len(password) == 16
    assert password[0].isalpha()


def test_log_cells_from_user_input_cannot_become_formulas() -> None:
    text = p.log_csv(
        [
            {
                "userPrincipalName": "a@c.com",
                "displayName": "=HYPERLINK(1)",
                "temporaryPassword": "Abc!12345678xyzQ",
                "status": "created",
                "message": "",
            }
        ]
    )
    assert "'=HYPERLINK(1)" in text


# --- the domain new users get -----------------------------------------------------------------

_DOMAINS = st.lists(
    st.builds(
        lambda name, default, verified, federated: DirectoryDomain(name, default, verified, "Federated" if federated else "Managed"),
        st.sampled_from(["a.example", "b.example", "c.onmicrosoft.com", "d.example"]),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    ),
    max_size=5,
)


@given(domains=_DOMAINS, preferred=st.none() | st.sampled_from(["a.example", "B.EXAMPLE", "z.example"]))
def test_new_users_go_to_a_verified_managed_domain_the_primary_when_it_is_one(
    domains: list[DirectoryDomain], preferred: str | None
) -> None:
    usable = [d for d in domains if d.is_verified and d.authentication_type == "Managed"]
    chosen = p.choose_domain(domains, preferred=preferred)
    if not usable:
        assert chosen is None
        return
    assert chosen in {d.name for d in usable}
    if preferred and preferred.lower() in {d.name for d in usable}:
        assert chosen == preferred.lower()
    elif any(d.is_default for d in usable):
        assert any(d.name == chosen and d.is_default for d in usable)
