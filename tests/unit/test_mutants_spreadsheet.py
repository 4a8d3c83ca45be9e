"""The CSV writer, the edges the other tests leave open: an absent cell is empty."""

from __future__ import annotations

from shared.domain.spreadsheet import neutralise, write_csv


def test_an_absent_cell_is_empty_and_other_values_are_their_text() -> None:
    assert neutralise(None) == ""
    assert neutralise(0) == "0"
    assert neutralise(-1) == "'-1"
    assert write_csv(["a", "b", "c"], [[None, 0, "x"]]) == '"a","b","c"\r\n"","0","x"\r\n'
