"""
The app's CLI commands (``piccolo planner_app <command>``). Each is thin:
it parses options and calls a function that does the work.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

Command = TypeVar("Command", bound=Callable[..., Awaitable[None]])


def running_app_command() -> bool:
    """Whether this process is ``piccolo planner_app <command>``."""
    return sys.argv[1:2] == ["planner_app"]


def quiet_piccolo_prechecks() -> None:
    """
    Before an app command runs, Piccolo's CLI connects to warn about an
    unreachable database and creates its ``migration`` table to warn about
    pending migrations. The planner's commands check both themselves and
    report them in one line, and must write nothing when they refuse (an
    unmigrated database stays empty), so those pre-checks are switched off
    for them. Called from ``piccolo_conf.py`` before the engine is created.
    """
    if not running_app_command():
        return
    from piccolo.apps.migrations.commands.check import CheckMigrationManager

    warnings.filterwarnings("ignore", message=r".*Unable to connect to database")

    async def no_pending_count(self: CheckMigrationManager) -> int:
        return 0

    CheckMigrationManager.havent_ran_count = no_pending_count  # type: ignore[method-assign]


def _convert(name: str, value: Any, hint: Any) -> Any:
    if hint in (int, float) and not isinstance(value, bool):
        try:
            return hint(value)
        except (TypeError, ValueError):
            kind = "a whole number" if hint is int else "a number"
            sys.exit(f"error: --{name.replace('_', '-')} takes {kind}, got {value!r}")
    if hint is bool and not isinstance(value, bool):
        sys.exit(f"error: --{name.replace('_', '-')} is a flag and takes no value")
    return value


def cli_options(command: Command) -> Command:
    """
    Let a command take ``--dry-run`` as well as ``--dry_run`` (Piccolo's CLI
    passes option names through verbatim), and answer an unknown option or a
    value of the wrong type with one line instead of a usage dump.

    Numeric options reach the wrapper as text (Piccolo's CLI would convert
    them itself and fail with a usage dump) and are converted here.
    """
    parameters = inspect.signature(command).parameters
    hints = typing.get_type_hints(command)

    @functools.wraps(command)
    async def wrapper(*args: Any, **options: Any) -> None:
        cleaned: dict[str, Any] = {}
        for key, value in options.items():
            name = key.replace("-", "_")
            if name not in parameters:
                sys.exit(
                    f"error: unknown option --{key}; see "
                    f"`piccolo planner_app {command.__name__} --help`"
                )
            cleaned[name] = _convert(name, value, hints.get(name))
        await command(*args, **cleaned)

    wrapper.__annotations__ = {
        name: str if hint in (int, float) else hint
        for name, hint in hints.items()
        if name != "return"
    }
    return typing.cast(Command, wrapper)
