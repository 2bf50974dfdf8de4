"""What a lever declares about its settings: each :class:`LeverOption` is one setting of a
lever's decision (its name, default, range or choices, and help). The CLI generates its
planning options from these declarations (``cli/lever_options.py``), so an option's flag,
default, range and ``--help`` text are written once, beside the decision that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

#: The commands that plan (and so take the levers' options).
PLANNING_COMMANDS = ("optimize", "savings", "export-config")


@dataclass(frozen=True)
class LeverOption:
    """One setting a lever's decision reads.

    ``kind`` is ``float``, ``int``, ``choice`` or ``flag``; ``low``/``high`` bound a number
    (inclusive, ``None``: unbounded); ``choices`` are a choice's values. ``commands`` are the
    commands whose plan the setting changes."""

    name: str
    default: Any
    help: str
    kind: str = "float"
    low: Optional[float] = None
    high: Optional[float] = None
    choices: Tuple[str, ...] = ()
    metavar: Optional[str] = None
    commands: Tuple[str, ...] = PLANNING_COMMANDS

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "choice", "flag"):
            raise ValueError(f"{self.name}: kind {self.kind!r} is not float, int, choice or flag")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"{self.name}: default {self.default!r} is not one of {self.choices}")
        if self.kind in ("float", "int"):
            self.check(self.default)

    @property
    def flag(self) -> str:
        """The command-line flag: ``spot_share`` -> ``--spot-share``."""
        return "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}-{self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        if self.high is not None:
            return f"at most {self.high:g}"
        return "any value"

    def check(self, value: Any) -> Any:
        """``value`` if the setting takes it, else ValueError naming the option and its range."""
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{self.flag} {value!r} is not one of: {', '.join(self.choices)}")
            return value
        if self.kind == "flag":
            return bool(value)
        number = value
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError(f"{self.flag} {value!r} is not a number")
        if self.kind == "int" and not isinstance(number, int):
            raise ValueError(f"{self.flag} {value!r} is not a whole number")
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise ValueError(f"{self.flag} {value:g} is outside its range ({self.range_text()})")
        return value
