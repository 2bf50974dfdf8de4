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


def text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], title: Optional[str] = None, wrap: bool = True
) -> str:
    """A table for a terminal; numeric columns are right-aligned. With ``wrap`` its cells
    wrap at spaces to the terminal width (``COLUMNS``, else 100), never inside a word: a
    table too narrow for its longest words is drawn wider. Without ``wrap`` every row stays
    on one line (for output read by ``grep``)."""
    width = shutil.get_terminal_size((100, 24)).columns
    columns = list(zip(header, *rows))
    least = [max(_longest_word(cell) for cell in column) for column in columns]
    natural = [max(len(cell) for cell in column) for column in columns]
    # each column takes one space of padding either side of its text (rich's default)
    needed = sum(natural if not wrap else least) + 2 * len(columns)
    width = max(width, needed, len(title or ""))
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, name in enumerate(header):
        justify = "left" if i == 0 or not _numeric(rows, i) else "right"
        table.add_column(name, justify=justify, overflow="fold", min_width=least[i])
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
