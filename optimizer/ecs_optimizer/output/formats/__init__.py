"""One module per report format. Importing this package registers every renderer with
:mod:`..registry` (each module's ``@renders(kind, format)`` functions)."""

from __future__ import annotations

from . import csv, html, json, markdown, table

__all__ = ["csv", "html", "json", "markdown", "table"]
