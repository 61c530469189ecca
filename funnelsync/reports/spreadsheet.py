"""CSV cells safe to open in a spreadsheet.

A spreadsheet treats a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and a leading tab or carriage return can hide such a start), so a CRM name like
``=HYPERLINK("…")`` would run when the file is opened. Such text gets a leading ``'``, which
spreadsheets show as plain text. Numbers are values, not text, and stay as they are.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """The value as a CSV cell: formula-like text quoted with ``'``, None as empty."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


__all__ = ["FORMULA_STARTS", "csv_cell"]
