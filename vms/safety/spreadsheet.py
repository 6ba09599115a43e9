"""CSV cells a spreadsheet shows as text: Excel and LibreOffice run a cell that starts with
= + - @ (or a tab or carriage return) as a formula, so text from operators, devices or
published files is prefixed with an apostrophe there. Shared by every CSV we write."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def text_cell(value: object) -> object:
    """Numbers and booleans as they are (a negative number stays a number); text defused."""
    return cell(value) if isinstance(value, str) or value is None else value
