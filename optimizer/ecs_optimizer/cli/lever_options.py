"""The CLI's planning options, generated from what the levers declare (:mod:`levers.options`).

Each lever's :class:`~ecs_optimizer.levers.options.LeverOption` becomes one click option of
every command whose plan it changes, with the declared default, range (click checks it, and
``--help`` shows it) and help text. The command receives their values together as
``settings: LeverSettings``; nothing else in the CLI names a lever's option.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Iterator, List, Mapping

import click

from ..levers import registry
from ..levers.options import LeverOption


class LeverSettings(Mapping[str, Any]):
    """The levers' option values of one command run, by option name (``spot_share``...)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values: Dict[str, Any] = dict(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"LeverSettings({self._values!r})"


def _type(option: LeverOption) -> Any:
    if option.kind == "choice":
        return click.Choice(list(option.choices))
    if option.kind == "int":
        low = None if option.low is None else int(option.low)
        high = None if option.high is None else int(option.high)
        return click.IntRange(low, high)
    return click.FloatRange(option.low, option.high)


def click_option(option: LeverOption) -> Callable:
    """The click option of one lever setting."""
    if option.kind == "flag":
        return click.option(option.flag, option.name, is_flag=True, default=bool(option.default), help=option.help)
    return click.option(
        option.flag,
        option.name,
        type=_type(option),
        default=option.default,
        show_default=True,
        metavar=option.metavar,
        help=option.help,
    )


def declared(command: str) -> List[LeverOption]:
    """The lever options ``command`` takes, in lever order."""
    return [option for option in registry.options() if command in option.commands]


def lever_options(command: str) -> Callable[[Callable], Callable]:
    """Add the levers' options of ``command`` to it; the command receives their values as
    ``settings: LeverSettings``."""
    options = declared(command)

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {option.name: kwargs.pop(option.name) for option in options}
            return fn(*args, settings=LeverSettings(values), **kwargs)

        for option in reversed(options):
            wrapper = click_option(option)(wrapper)
        return wrapper

    return decorate
