"""CSV exports neutralise every cell a spreadsheet would run as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from pulse.api.routes.customer.exports import _csv_line


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_starts_are_prefixed(cell: str) -> None:
    (row,) = csv.reader(io.StringIO(_csv_line([cell, "plain", 3])))
    assert row == [f"'{cell}", "plain", "3"]
