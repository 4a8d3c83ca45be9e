"""The one way the suite writes CSV (the skills report, the import log file).

Cells come from people (CSV imports, token claims) and the files are opened in spreadsheets,
which run a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR as a formula. Every
cell is quoted, so a separator inside a cell never starts a new one, and every cell, or part
of a cell that follows a separator of any locale (``,`` ``;`` tab ``|``) or a line break,
that starts with one of those characters is prefixed with ``'``, so it reads as text
whatever the reader's separator and whether it honours quotes or not.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_STARTS = "=+-@\t\r"
# A cell's start, or a separator / line break, then optional spaces or quote marks (which a
# reader may drop), then a formula start.
_FORMULA = re.compile(r"(^|[,;\t|\r\n])([ \"]*)(?=[=+\-@\t\r])")


def neutralise(value: object) -> str:
    """The text of a cell that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    return _FORMULA.sub(lambda m: f"{m.group(1)}{m.group(2)}'", text)


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (CRLF), every cell quoted and neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()
