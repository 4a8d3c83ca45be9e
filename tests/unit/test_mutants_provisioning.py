"""Adding users, the edges the other tests leave open: both sides of every bound, every
field of a row as the caller reads it, every formula start, the bare name first."""

from __future__ import annotations

import string
from collections.abc import Iterable

import pytest

from shared.domain import provisioning as p

# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Abcde1!", False),  # 7 characters, 4 classes
        ("Abcdef1!", True),  # 8
        ("Ab1!" + "x" * 252, True),  # 256
        ("Ab1!" + "x" * 253, False),  # 257
        ("abcdefgh", False),  # 1 class
        ("abcdEFGH", False),  # 2 classes
        ("abcd1234", False),
        ("abcd!!!!", False),
        ("ABCD1234", False),
        ("abcdEFG1", True),  # lower, upper, digit
        ("abcdEFG!", True),  # lower, upper, symbol
        ("abcd123!", True),  # lower, digit, symbol
        ("ABCD123!", True),  # upper, digit, symbol
        ("ABCD123 ", True),  # a space is a symbol
        ("", False),
    ],
)
def test_complexity_is_eight_to_256_characters_of_three_classes(password: str, ok: bool) -> None:
    assert p.meets_complexity(password) is ok


@pytest.mark.parametrize("length", [8, 9, 16, 40])
def test_temporary_passwords_have_the_length_asked_all_four_classes_and_a_letter_first(length: int) -> None:
    allowed = set(p._LOWER + p._UPPER + p._DIGITS + p._SYMBOLS)
    for _ in range(150):
        password = p.temporary_password(length)
        assert len(password) == length
        assert set(password) <= allowed
        assert any(c in p._LOWER for c in password) and any(c in p._UPPER for c in password)
        assert any(c in p._DIGITS for c in password) and any(c in p._SYMBOLS for c in password)
        assert password[0] in string.ascii_letters
        assert p.meets_complexity(password)


def test_temporary_passwords_are_not_repeated_and_use_the_whole_alphabet() -> None:
    passwords = [p.temporary_password() for _ in range(200)]
    assert len(set(passwords)) == 200
    seen = set("".join(passwords))
    assert seen == set(p._LOWER + p._UPPER + p._DIGITS + p._SYMBOLS)
    # The letter moved to the front is not always the same class, nor the rest always sorted.
    assert {pw[0] in p._LOWER for pw in passwords} == {True, False}
    assert {pw[1].isalpha() for pw in passwords} == {True, False}


def test_look_alike_characters_are_never_used() -> None:
    assert not set("lIO01") & set(p._LOWER + p._UPPER + p._DIGITS)


# --- the log file ---------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_in_a_log_cell_is_neutralised(start: str) -> None:
    text = p.log_csv([{"userPrincipalName": "a@c.com", "displayName": f"{start}SUM(1)", "status": "created"}])
    lines = text.split("\r\n")
    assert lines[0] == '"userPrincipalName","displayName","temporaryPassword","status","message"'
    assert lines[1] == f'"a@c.com","\'{start}SUM(1)","","created",""'
    assert lines[2] == ""


def test_the_log_has_one_line_per_row_in_order_with_missing_fields_empty() -> None:
    text = p.log_csv(
        [
            {"userPrincipalName": "a@c.com", "displayName": "A", "temporaryPassword": "Pw1!pw1!", "status": "created", "message": None},
            {"userPrincipalName": "b@c.com", "status": "failed", "message": "already exists", "extra": "x"},
        ]
    )
    assert text == (
        '"userPrincipalName","displayName","temporaryPassword","status","message"\r\n'
        '"a@c.com","A","Pw1!pw1!","created",""\r\n'
        '"b@c.com","","","failed","already exists"\r\n'
    )


# --- user names ---------------------------------------------------------------------------------


def taken_from(existing: set[str], calls: list[list[str]] | None = None):
    def taken(candidates: Iterable[str]) -> set[str]:
        batch = list(candidates)
        if calls is not None:
            calls.append(batch)
        return {c for c in batch if c in existing}

    return taken


def test_the_bare_name_is_the_first_candidate() -> None:
    calls: list[list[str]] = []
    assert p.unique_upns(["ada"], "c.com", taken_from(set(), calls)) == ["ada@c.com"]
    assert calls == [["ada@c.com"]]


def test_names_are_lower_cased_and_grouped_case_insensitively() -> None:
    assert p.unique_upns(["Ada", "ada", "SAM"], "C.com", taken_from(set())) == ["ada@c.com", "ada2@c.com", "sam@c.com"]


def test_a_taken_bare_name_moves_on_to_the_next_free_number_in_a_second_round() -> None:
    calls: list[list[str]] = []
    existing = {"sam@c.com", "sam2@c.com"}
    assert p.unique_upns(["sam", "ada"], "c.com", taken_from(existing, calls)) == ["sam3@c.com", "ada@c.com"]
    # The second round asks only about candidates not asked before.
    assert calls[0] == ["sam@c.com", "ada@c.com"]
    assert all(c not in calls[0] for c in calls[1])
    assert "sam3@c.com" in calls[1]


def test_another_rows_base_name_is_not_reused_as_a_number() -> None:
    # "sam2" is a row's own base name: the second "sam" must not take it.
    assert p.unique_upns(["sam2", "sam", "sam"], "c.com", taken_from(set())) == ["sam2@c.com", "sam@c.com", "sam3@c.com"]


def test_no_directory_read_without_candidates_and_nothing_for_no_rows() -> None:
    calls: list[list[str]] = []
    assert p.unique_upns([], "c.com", taken_from(set(), calls)) == []
    assert calls == []


def test_giving_up_after_ten_rounds_when_every_name_is_taken() -> None:
    rounds: list[list[str]] = []

    def everything(candidates: Iterable[str]) -> set[str]:
        batch = list(candidates)
        rounds.append(batch)
        return set(batch)

    with pytest.raises(RuntimeError, match="could not find free user names"):
        p.unique_upns(["sam"], "c.com", everything)
    assert len(rounds) == 10


def test_nine_rounds_are_enough_when_the_tenth_finds_a_name() -> None:
    answers = iter(range(10))

    def until_tenth(candidates: Iterable[str]) -> set[str]:
        batch = list(candidates)
        return set(batch) if next(answers) < 9 else set()

    upn = p.unique_upns(["sam"], "c.com", until_tenth)
    assert upn[0].startswith("sam") and upn[0].endswith("@c.com")


@pytest.mark.parametrize(
    ("source", "local"),
    [
        ("ada+news", "ada"),
        ("a+b+c", "a"),
        ("  Ada   Lovelace  ", "ada.lovelace"),
        ("Ada\tLovelace", "ada.lovelace"),
        ("a_b-c'd", "a_b-cd"),
        ("a...b", "a.b"),
        (".a.", "a"),
        ("", "user"),
        ("...", "user"),
        ("x" * 60, "x" * 56),
        ("x" * 55 + ".y", "x" * 55),  # cut at 56 leaves a trailing dot: dropped
        ("x" * 56, "x" * 56),
        ("ÅSA", "asa"),
    ],
)
def test_local_parts_follow_the_upn_rules_at_every_edge(source: str, local: str) -> None:
    assert p.normalise_local_part(source) == local


def row(**fields: str) -> p.UserRow:
    return p.UserRow.model_validate({"displayName": "Ada Lovelace", **fields})


def test_the_local_part_comes_from_email_then_nickname_then_display_name() -> None:
    assert p.base_local_part(row(email="Ada.L@x.com", mailNickname="nick")) == "ada.l"
    assert p.base_local_part(row(mailNickname="Nick.Name")) == "nick.name"
    assert p.base_local_part(row()) == "ada.lovelace"


def test_the_mail_nickname_is_the_upn_local_part_up_to_64_characters() -> None:
    assert p.mail_nickname_of("ada@c.com") == "ada"
    assert p.mail_nickname_of("a@b@c.com") == "a"
    assert p.mail_nickname_of("x" * 70 + "@c.com") == "x" * 64


# --- rows ---------------------------------------------------------------------------------------


def test_a_valid_row_is_read_field_by_field() -> None:
    good, bad = p.validate_rows(
        [
            {
                "displayName": "  Ada  ",
                "mailNickname": "ada.l",
                "givenName": "Ada",
                "surname": "Lovelace",
                "email": "ADA@Example.COM",
            }
        ]
    )
    assert bad == []
    assert good == [
        (1, p.UserRow(display_name="Ada", mail_nickname="ada.l", given_name="Ada", surname="Lovelace", email="ada@example.com"))
    ]


def test_blank_optional_fields_are_absent() -> None:
    good, _ = p.validate_rows([{"display_name": "Ada", "mail_nickname": "", "given_name": "", "surname": " ", "email": ""}])
    assert good[0][1].model_dump() == {"display_name": "Ada", "mail_nickname": None, "given_name": None, "surname": None, "email": None}


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"displayName": ""}, "displayName: String should have at least 1 character"),
        ({"displayName": "x" * 257}, "displayName: String should have at most 256 characters"),
        ({"displayName": "A", "email": "a@b"}, "email: Value error, not an email address"),
        (
            {"displayName": "A", "mailNickname": "a b"},
            "mailNickname: Value error, letters, digits and !#$%&'*+-/=?^_`{|}~. only, at most 64",
        ),
        ({"displayName": "A", "surname": "x" * 65}, "surname: String should have at most 64 characters"),
        ({"displayName": "A", "tenantId": "t"}, "tenantId: Extra inputs are not permitted"),
        ({}, "displayName: Field required"),
    ],
)
def test_a_bad_row_names_the_field_and_the_reason(item: dict[str, str], error: str) -> None:
    good, bad = p.validate_rows([{"displayName": "Fine"}, item])
    assert [n for n, _ in good] == [1]
    assert bad == [p.RowError(2, error)]


def test_an_item_that_is_not_an_object_is_a_row_error() -> None:
    _, bad = p.validate_rows(["Ada"])  # type: ignore[list-item]
    assert bad == [p.RowError(1, "row: Input should be a valid dictionary or instance of UserRow")]


def test_bound_lengths_are_accepted() -> None:
    item = {"displayName": "x" * 256, "mailNickname": "n" * 64, "givenName": "g" * 64, "surname": "s" * 64}
    good, bad = p.validate_rows([item])
    assert bad == [] and len(good) == 1


def test_several_problems_of_one_row_are_joined() -> None:
    _, bad = p.validate_rows([{"displayName": "", "email": "nope"}])
    assert bad[0].error == "displayName: String should have at least 1 character; email: Value error, not an email address"


# --- the CSV ------------------------------------------------------------------------------------


def test_exactly_max_rows_is_accepted_and_blank_lines_do_not_count() -> None:
    rows = p.read_csv(b"Display name\na\n\n ,\nb\n", max_rows=2)
    assert rows == [{"displayName": "a"}, {"displayName": "b"}]
    with pytest.raises(p.CsvTooLarge, match=r"^The file has more than 2 rows; split it\.$"):
        p.read_csv(b"Display name\na\nb\nc\n", max_rows=2)


def test_a_row_shorter_or_longer_than_the_header_keeps_what_it_has() -> None:
    assert p.read_csv(b"Display name,Email\nAda\nBob,b@x.com,extra\n", max_rows=5) == [
        {"displayName": "Ada"},
        {"displayName": "Bob", "email": "b@x.com"},
    ]


def test_a_line_break_inside_a_quoted_cell_is_kept_as_written() -> None:
    assert p.read_csv(b'Display name\r\n"Ada\r\nLovelace"\r\n', max_rows=5) == [{"displayName": "Ada\r\nLovelace"}]


def test_first_and_last_name_columns_alone_are_enough() -> None:
    assert p.read_csv(b"Given name,Surname\nAda,\n,Hopper\n", max_rows=5) == [
        {"givenName": "Ada", "surname": "", "displayName": "Ada"},
        {"givenName": "", "surname": "Hopper", "displayName": "Hopper"},
    ]


@pytest.mark.parametrize("header", [b"First name\nAda\n", b"Last name\nHopper\n"])
def test_one_name_column_without_a_display_name_is_refused(header: bytes) -> None:
    with pytest.raises(p.CsvError, match=r"^The header row needs a 'Display name' column \(or 'First name' and 'Last name'\)\.$"):
        p.read_csv(header, max_rows=5)


def test_header_names_are_trimmed_and_case_insensitive_and_all_columns_map() -> None:
    body = b" DISPLAY NAME ,Mail Nickname,Email\nAda, ada ,A@x.com\n"
    assert p.read_csv(body, max_rows=5) == [{"displayName": "Ada", "mailNickname": "ada", "email": "A@x.com"}]


def test_whole_file_errors_say_what_is_wrong() -> None:
    with pytest.raises(p.CsvError, match=r"^The file is not UTF-8 \(byte 3\)\.$"):
        p.read_csv(b"abc\xff", max_rows=5)
    with pytest.raises(p.CsvError, match=r"^The file is empty; a header row is expected\.$"):
        p.read_csv(b"", max_rows=5)
    with pytest.raises(p.CsvError, match=r"^The file is not valid CSV: .+\.$"):
        p.read_csv(b'Display name\n"a"b\n', max_rows=5)
