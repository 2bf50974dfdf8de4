"""JSON filter patterns in CloudWatch Logs ``FilterLogEvents``, as AWS documents them.

moto matches plain terms and quoted phrases, and lets every event through a JSON filter
pattern (``{ $.detail.lastStatus = "STOPPED" }``) as if there were none. AWS matches a JSON
pattern only against events whose message is a JSON object, by the fields the selectors name.
Here the subset of the documented syntax the optimizer's readers use is evaluated as AWS
does; any other pattern goes to moto's own matcher:

* a selector ``$.a.b`` (dots into objects, ``[n]`` into arrays), an operator ``=`` or ``!=``
  with a string (quoted or bare, ``*`` a wildcard for any characters) or a number, and ``<``,
  ``>``, ``<=``, ``>=`` with a number;
* conditions joined by ``&&`` and ``||`` (``&&`` binds first), grouped in parentheses.

A selector that names no field fails its condition, with either operator.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, List, Optional, Tuple

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<paren>[()])
    |(?P<logic>&&|\|\|)
    |(?P<op>!=|<=|>=|=|<|>)
    |(?P<selector>\$(?:\.[A-Za-z0-9_\-]+|\[\d+\])*)
    |(?P<quoted>"(?:[^"\\]|\\.)*")
    |(?P<bare>[^\s()&|=!<>"]+)
    )""",
    re.VERBOSE,
)

Condition = Callable[[Any], bool]


class PatternError(ValueError):
    """A JSON filter pattern this evaluator does not read."""


def _tokens(body: str) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        match = _TOKEN.match(body, pos)
        if not match or match.end() == pos:
            raise PatternError(f"cannot read the pattern at {body[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _select(document: Any, selector: str) -> Tuple[bool, Any]:
    value = document
    for part in re.findall(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]", selector[1:]):
        key, index = part
        if key:
            if not isinstance(value, dict) or key not in value:
                return False, None
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
    return True, value


def _compare(selector: str, op: str, raw: str, quoted: bool) -> Condition:
    text = json.loads(raw) if quoted else raw
    number: Optional[float] = None
    if not quoted:
        try:
            number = float(raw)
        except ValueError:
            number = None

    def check(document: Any) -> bool:
        found, value = _select(document, selector)
        if not found:
            return False
        if op in ("<", ">", "<=", ">="):
            if number is None or isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            return {"<": value < number, ">": value > number, "<=": value <= number, ">=": value >= number}[op]
        if number is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            equal = float(value) == number
        elif isinstance(value, str):
            equal = re.fullmatch(".*".join(map(re.escape, text.split("*"))), value, re.DOTALL) is not None
        elif value is None:
            equal = text == "null" and not quoted
        elif isinstance(value, bool):
            equal = not quoted and text == str(value).lower()
        else:
            equal = False
        return equal if op == "=" else not equal

    return check


class _Parser:
    def __init__(self, tokens: List[Tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, kind: str) -> str:
        got_kind, value = self.peek()
        if got_kind != kind:
            raise PatternError(f"expected {kind}, found {value or 'the end'}")
        self.pos += 1
        return value

    def any_of(self) -> Condition:
        parts = [self.all_of()]
        while self.peek() == ("logic", "||"):
            self.pos += 1
            parts.append(self.all_of())
        return parts[0] if len(parts) == 1 else (lambda d: any(p(d) for p in parts))

    def all_of(self) -> Condition:
        parts = [self.term()]
        while self.peek() == ("logic", "&&"):
            self.pos += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda d: all(p(d) for p in parts))

    def term(self) -> Condition:
        if self.peek() == ("paren", "("):
            self.pos += 1
            inner = self.any_of()
            self.take("paren")
            return inner
        selector = self.take("selector")
        op = self.take("op")
        kind, value = self.peek()
        if kind not in ("quoted", "bare"):
            raise PatternError(f"expected a value after {selector} {op}")
        self.pos += 1
        return _compare(selector, op, value, kind == "quoted")


def json_pattern(pattern: str) -> Optional[Condition]:
    """The condition a ``{ ... }`` pattern states, or None for a pattern of another kind."""
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    parser = _Parser(_tokens(text[1:-1]))
    condition = parser.any_of()
    if parser.peek()[0] != "end":
        raise PatternError(f"unexpected {parser.peek()[1]!r} in the pattern")
    return condition


def patch_json_filter_patterns() -> None:
    """Make moto's log-event filter evaluate JSON patterns (see the module docstring)."""
    from moto.logs import models

    original = models.EventMessageFilter

    class EventMessageFilter(original):  # type: ignore[misc, valid-type]
        def __init__(self, pattern: str) -> None:
            super().__init__(pattern)
            self.json_condition = json_pattern(pattern or "")

        def matches(self, message: str) -> bool:
            if self.json_condition is None:
                return bool(super().matches(message))
            try:
                document = json.loads(message)
            except ValueError:
                return False
            return isinstance(document, dict) and self.json_condition(document)

    models.EventMessageFilter = EventMessageFilter  # type: ignore[misc]
