"""
The app's CLI commands (``piccolo planner_app <command>``) and the one
convention they share (``docs/cli.md``). Each command is thin: it checks its
options and calls a function that does the work and can be called without
the CLI.

Every command is an ``async`` function decorated with :func:`cli_command`,
which gives it

- options spelt with hyphens or underscores (``--dry-run``, ``--dry_run``),
  numbers converted, and an unknown option or a wrong value answered with
  one ``error: ...`` line instead of Piccolo's usage dump;
- errors as one ``error: ...`` line on stderr and exit status 1, never a
  traceback (raise :class:`CommandError`, or let the work's own exception
  through: its message becomes the line);
- the database of ``piccolo_conf.DB``, connected to only once the command
  runs (``--help`` connects to nothing);
- its reST docstring (``:param x:``) as its ``--help``.

Commands import what they need inside the function, so that Piccolo's CLI,
which imports every command to list it, starts fast.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

Command = TypeVar("Command", bound=Callable[..., Awaitable[None]])

#: What to do about a database that is not (fully) migrated; every command
#: says it with these words.
MIGRATE_HINT = (
    "run `piccolo migrations forwards all` (or `piccolo planner_app migrate`)"
)


class CommandError(Exception):
    """A command refuses; the message is the one line the user reads."""


def fail(message: str) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit 1."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(1)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _engine() -> Any:
    from piccolo.engine.finder import engine_finder

    return engine_finder()


def database_url() -> str:
    """
    The URL of Piccolo's engine (``piccolo_conf.DB``): ``DATABASE_URL``, or
    the embedded PostgreSQL, which this starts when it is not running.
    """
    engine = _engine()
    url = getattr(engine, "database_url", None)
    if url:
        return url
    from planner_app.database import resolve_database_url

    return resolve_database_url()


async def require_migrated() -> None:
    """
    :raises CommandError:
        When the database cannot be reached, or a migration of any
        registered app has not run; reads only.
    """
    from planner_app.migrate import MigrateError, check_connection, pending_migrations

    try:
        await check_connection()
    except MigrateError as error:
        raise CommandError(str(error)) from error
    pending = await pending_migrations()
    if pending:
        raise CommandError(
            f"the database is not migrated ({len(pending)} pending "
            f"migration(s)); {MIGRATE_HINT}"
        )


def _option(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _convert(name: str, value: Any, hint: Any) -> Any:
    """``value`` as the command's annotation ``hint`` wants it."""
    if typing.get_origin(hint) in (typing.Union, type(int | None)):
        # ``X | None``: the option takes an X.
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise CommandError(f"{_option(name)} is a flag and takes no value")
    if isinstance(value, bool):
        # Piccolo's CLI passes a bare ``--name`` (and ``--name=true``) as True.
        value_text = "N" if hint in (int, float) else "..."
        raise CommandError(
            f"{_option(name)} needs a value, e.g. {_option(name)}={value_text}"
        )
    if hint in (int, float):
        try:
            return hint(value)
        except (TypeError, ValueError):
            kind = "a whole number" if hint is int else "a number"
            raise CommandError(f"{_option(name)} takes {kind}, got {value!r}") from None
    return value


def parse_options(command: Callable[..., Any], options: dict[str, Any]) -> dict:
    """
    The keyword arguments for ``command`` from the options Piccolo's CLI
    passed (names as typed, values as text or True).

    :raises CommandError:
        On an unknown option or a value of the wrong kind.
    """
    parameters = inspect.signature(command).parameters
    hints = typing.get_type_hints(command)
    arguments: dict[str, Any] = {}
    for key, value in options.items():
        name = key.replace("-", "_")
        if name not in parameters:
            raise CommandError(
                f"unknown option --{key}; see "
                f"`piccolo planner_app {command.__name__} --help`"
            )
        arguments[name] = _convert(name, value, hints.get(name))
    return arguments


def cli_command(command: Command) -> Command:
    """
    Make ``command`` a ``piccolo planner_app`` command that follows the
    convention above.
    """

    @functools.wraps(command)
    async def wrapper(**options: Any) -> None:
        try:
            arguments = parse_options(command, options)
            engine = _engine()
            if hasattr(engine, "release"):
                engine.release()
            await command(**arguments)
        except CommandError as error:
            fail(str(error))
        except KeyboardInterrupt:
            fail("interrupted")
        except Exception as error:  # one line, never a traceback
            fail(one_line(error))

    # Marks the commands that follow the convention (a test checks that every
    # registered command does: without it the engine stays held).
    wrapper.cli_command = True  # type: ignore[attr-defined]
    # Piccolo's CLI converts numeric options itself and answers a bad value
    # with a usage dump; it sees them as text, and they are converted above.
    hints = typing.get_type_hints(command)
    wrapper.__annotations__ = {
        name: str if hint in (int, float) else hint
        for name, hint in hints.items()
        if name != "return"
    }
    # Positional arguments are matched by name, as Piccolo's own commands do.
    wrapper.__signature__ = inspect.signature(command).replace(  # type: ignore[attr-defined]
        return_annotation=inspect.Signature.empty
    )
    return typing.cast(Command, wrapper)
