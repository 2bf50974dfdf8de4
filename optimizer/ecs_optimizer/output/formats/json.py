"""``--format json``: the report's document itself (each kind has a JSON Schema in
``schemas/``), for scripts and CI."""

from __future__ import annotations

import json

from ..models import EXPORT, MIGRATION_STEP, OPTIMIZE, ORGANIZATION, ROLLBACK, SAVINGS, Report
from ..registry import renders


def document(report: Report) -> str:
    return json.dumps(report.document, indent=2, default=str)


for _kind in (SAVINGS, OPTIMIZE, ROLLBACK, EXPORT, ORGANIZATION, MIGRATION_STEP):
    renders(_kind, "json")(document)
