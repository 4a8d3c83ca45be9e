"""Every CSV the suite writes goes through one writer: no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import provisioning
from shared.domain.spreadsheet import FORMULA_STARTS, write_csv

SEPARATORS = (",", ";", "\t", "|")


def cells_read_by(text: str, separator: str) -> list[str]:
    """What a spreadsheet set to ``separator`` shows: the cells, quotes honoured."""
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) for cell in row]


def cells_split_naively(text: str, separator: str) -> list[str]:
    """What a reader that ignores quotes shows."""
    return [cell.strip('"') for line in text.replace("\r", "\n").split("\n") for cell in line.split(separator)]


def runnable(cell: str) -> bool:
    """A formula, once a reader drops leading blanks and quote marks."""
    return cell.lstrip(' \t\r\n"')[:1] in tuple(FORMULA_STARTS)


def test_a_formula_after_another_locales_separator_is_neutralised() -> None:
    text = write_csv(["displayName"], [["Ada;=1+1"], ['=HYPERLINK("http://x")'], ["-2+3"], ["@SUM(A1)"], ["\tx"], ["Hopper, Grace"]])
    for separator in SEPARATORS:
        assert not any(runnable(c) for c in cells_read_by(text, separator)), separator
        assert not any(runnable(c) for c in cells_split_naively(text, separator)), separator
    assert cells_read_by(text, ",")[1:] == ["Ada;'=1+1", '\'=HYPERLINK("http://x")', "'-2+3", "'@SUM(A1)", "'\tx", "Hopper, Grace"]


@settings(max_examples=300)
@given(st.lists(st.lists(st.text(alphabet=st.sampled_from("ab =+-@\t\r\n,;|\"'1"), max_size=12), min_size=1, max_size=4), max_size=5))
def test_no_cell_of_any_file_is_runnable_whatever_the_separator(rows: list[list[str]]) -> None:
    text = write_csv(["a", "b", "c", "d"], rows)
    for separator in SEPARATORS:
        assert not any(runnable(c) for c in cells_read_by(text, separator))
        assert not any(runnable(c) for c in cells_split_naively(text, separator))
    # Read with its own separator, each cell is the input with quote marks added only.
    read = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert [[c.replace("'", "") for c in row] for row in read] == [[c.replace("'", "") for c in row] for row in rows]


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10))
def test_the_log_file_keeps_passwords_intact(_: int) -> None:
    password = provisioning.temporary_password()
    text = provisioning.log_csv(
        [{"userPrincipalName": "a@c.com", "displayName": "Ada;=1+1", "temporaryPassword": password, "status": "created"}]
    )
    [row] = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row["temporaryPassword"] == password and row["displayName"] == "Ada;'=1+1"
