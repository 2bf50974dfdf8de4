"""The JSON Schema of the savings report, shipped with the package, and a validator for it."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, List

SAVINGS_SCHEMA_FILE = "savings-report.schema.json"


def savings_schema() -> dict:
    """The committed schema (``ecs_optimizer/schemas/savings-report.schema.json``)."""
    text = resources.files("ecs_optimizer").joinpath("schemas", SAVINGS_SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def savings_errors(document: Any) -> List[str]:
    """Every way ``document`` breaks the schema, as ``path: message`` lines (empty when valid).

    Needs ``jsonschema`` (a test dependency): the optimizer itself never validates what it
    writes at run time, its tests do.
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(savings_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
