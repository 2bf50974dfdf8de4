"""The JSON Schemas of the reports the optimizer writes (shipped with the package) and the tests' validator for them."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, List

SAVINGS_SCHEMA_FILE = "savings-report.schema.json"
ORG_SCHEMA_FILE = "org-savings-report.schema.json"
STEP_SCHEMA_FILE = "migration-step.schema.json"
VERIFY_SCHEMA_FILE = "verify-report.schema.json"
OPTIMIZE_SCHEMA_FILE = "optimize-report.schema.json"


def load_schema(name: str) -> dict:
    """A committed schema from ``ecs_optimizer/output/schemas/``."""
    return json.loads(resources.files("ecs_optimizer.output").joinpath("schemas").joinpath(name).read_text("utf-8"))


def _errors(schema_file: str, document: Any, prefix: str = "") -> List[str]:
    # jsonschema is a test dependency: the optimizer never validates what it writes at run
    # time, its tests do (every JSON run of the suite goes through here).
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema(schema_file), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{prefix}{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def savings_errors(document: Any) -> List[str]:
    """Every way ``document`` breaks the savings schema, as ``path: message`` lines (empty when valid)."""
    return _errors(SAVINGS_SCHEMA_FILE, document)


def step_errors(document: Any) -> List[str]:
    """The same for the report of ``savings --migration-step``."""
    return _errors(STEP_SCHEMA_FILE, document)


def optimize_errors(document: Any) -> List[str]:
    """The same for ``optimize``'s report, its savings report included."""
    errors = _errors(OPTIMIZE_SCHEMA_FILE, document)
    if isinstance(document, dict) and isinstance(document.get("savings"), dict):
        errors += _errors(SAVINGS_SCHEMA_FILE, document["savings"], "savings/")
    return errors


def org_errors(document: Any) -> List[str]:
    """The same for an organization-wide report, each account's own report included."""
    errors = _errors(ORG_SCHEMA_FILE, document)
    for i, row in enumerate(document.get("accounts", []) if isinstance(document, dict) else []):
        if isinstance(row, dict) and row.get("report") is not None:
            errors += _errors(SAVINGS_SCHEMA_FILE, row["report"], f"accounts/{i}/report/")
    return errors


def verify_errors(document: Any) -> List[str]:
    """The same for the report of ``verify``."""
    return _errors(VERIFY_SCHEMA_FILE, document)
