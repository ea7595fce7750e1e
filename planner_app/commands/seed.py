"""
``piccolo planner_app seed``: a thin wrapper around :func:`seeds.seed`.
"""

from __future__ import annotations

import asyncio
import sys

from seeds.generate import DEFAULT_SEED


def _database_url() -> str:
    """The URL of Piccolo's engine (``piccolo_conf.py``), else DATABASE_URL."""
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    dsn = getattr(engine, "config", {}).get("dsn") if engine is not None else None
    if dsn:
        return dsn
    from planner_app.database import resolve_database_url

    return resolve_database_url()


# The annotations say ``int | str`` because the CLI hands over raw strings:
# they are validated here, so a bad value gives one line, not a traceback.
# No return annotation: the CLI help would list it as an argument.
def seed(
    users: int | str = 5,
    seed: int | str = DEFAULT_SEED,
    reset: bool = False,
    today: str | None = None,
):
    """
    Fill the database with realistic, deterministic development data: users
    with a vision, 12-week cycles (1+1 goals, tasks, weekly plans, plan items
    with completion for past weeks, the lock past week 6) and coaching chats.
    Running it again with the same arguments changes nothing.

    :param users:
        How many users to seed (a whole number, 0 or more).
    :param seed:
        The random seed: the same seed and users give identical rows.
    :param reset:
        First remove every previously seeded user and their data (never
        other users); with --users=0 it only removes.
    :param today:
        The day dates are relative to, as YYYY-MM-DD (default: today).

    """
    from seeds.progress import ProgressBar
    from seeds.writer import SeedError, parse_flag, parse_today
    from seeds.writer import seed as run_seed

    try:
        reset_flag = parse_flag("reset", reset)
        day = parse_today(today)
        bar = ProgressBar("Seeding")
        try:
            report = asyncio.run(
                run_seed(
                    _database_url(),
                    users=users,  # type: ignore[arg-type]
                    seed=seed,  # type: ignore[arg-type]
                    reset=reset_flag,
                    today=day,
                    progress=bar.update,
                )
            )
        finally:
            bar.close()
    except SeedError as error:
        sys.exit(f"error: {error}")
    except KeyboardInterrupt:
        sys.exit("Interrupted: nothing was written")
    except Exception as error:  # the CLI promises one line, never a traceback
        message = " ".join(str(error).split()) or error.__class__.__name__
        sys.exit(f"error: {message}")
    print(report.summary())
