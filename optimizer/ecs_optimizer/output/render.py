"""How every report writes money, numbers, long values and tables: one place for each.

The savings, optimize, rollback and organization reports and the HTML page draw their
amounts and tables from here, so a dollar amount or a table looks the same in all of them.
"""

from __future__ import annotations

import io
import re
import shutil
from typing import List, Optional, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

#: Cells that start with one of these are numbers or amounts (right-aligned).
_NUMERIC_START = "$-0123456789"


def usd(value: float) -> str:
    """``$1,234.56``; negative amounts as ``-$12.00``."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def cents(value: float) -> str:
    """An amount to the cent with no currency sign or separators (``1234.50``), for CSV."""
    return f"{value:.2f}"


def quantity(value: float) -> str:
    """``1,095`` or ``237.25``: thousands separated, at most two decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


_TASK_DEFINITION_ARN = re.compile(
    r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/(?P<name>[A-Za-z0-9_-]+:\d+)$"
)


def short_arn(text: str) -> str:
    """A task-definition ARN as ``family:revision`` (any other text as it is)."""
    match = _TASK_DEFINITION_ARN.match(text)
    return match.group("name") if match else text


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _numeric(rows: Sequence[Sequence[str]], column: int) -> bool:
    return all(row[column][:1] in _NUMERIC_START for row in rows)


def numeric_columns(rows: Sequence[Sequence[str]]) -> List[int]:
    """Columns after the first whose every cell is a number or an amount (right-aligned)."""
    return [i for i in range(1, len(rows[0])) if _numeric(rows, i)] if rows else []


def _longest_word(cell: str) -> int:
    return max((len(word) for word in cell.split()), default=0)


#: Characters a column takes beyond its text: a space of padding either side and a separator.
_COLUMN_OVERHEAD = 3


def column_widths(columns: Sequence[Sequence[str]], available: int, wrap: bool) -> List[int]:
    """Each column's text width: its longest cell, or, with ``wrap`` and too little room, less,
    taken from the columns with the most room to give, but never below a column's longest word
    (so a cell wraps at spaces and no word is split)."""
    widths = [max(len(cell) for cell in column) for column in columns]
    if not wrap:
        return widths
    least = [max(_longest_word(cell) for cell in column) for column in columns]
    budget = available - _COLUMN_OVERHEAD * len(columns)
    while sum(widths) > budget:
        i = max(range(len(widths)), key=lambda k: widths[k] - least[k])
        if widths[i] <= least[i]:
            break  # every column is at its longest word: the table is drawn wider than the terminal
        widths[i] -= 1
    return widths


def text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], title: Optional[str] = None, wrap: bool = True
) -> str:
    """A table for a terminal; numeric columns are right-aligned. With ``wrap`` its cells
    wrap at spaces to the terminal width (``COLUMNS``, else 100), never inside a word: a
    table too narrow for its longest words is drawn wider. Without ``wrap`` every row stays
    on one line (for output read by ``grep``)."""
    available = shutil.get_terminal_size((100, 24)).columns
    widths = column_widths(list(zip(header, *rows)), available, wrap)
    width = max(available, sum(widths) + _COLUMN_OVERHEAD * len(widths), len(title or ""))
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, name in enumerate(header):
        table.add_column(
            name,
            justify="left" if i == 0 or not _numeric(rows, i) else "right",
            overflow="fold",
            width=widths[i],
        )
    for row in rows:
        table.add_row(*row)
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, highlight=False, emoji=False).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; ``|`` in a cell is escaped, numeric columns are
    right-aligned."""

    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(":---" if i == 0 or not _numeric(rows, i) else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def table(fmt: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table when ``fmt`` is ``markdown``, else a terminal table whose rows stay
    on one line each."""
    return markdown_table(header, rows) if fmt == "markdown" else text_table(header, rows, wrap=False)
