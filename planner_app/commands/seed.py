"""
``piccolo planner_app seed``: a thin wrapper around :func:`seeds.seed`.
"""

from __future__ import annotations

from planner_app.commands import (
    CommandError,
    cli_command,
    database_url,
    require_migrated,
)
from seeds import DEFAULT_SEED  # a light import: Faker loads when the seed runs


@cli_command
async def seed(
    users: int = 5,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    today: str = "",
) -> None:
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
    from seeds.writer import parse_today, parse_users
    from seeds.writer import seed as run_seed

    parse_users(users)
    day = parse_today(today)
    await require_migrated()
    bar = ProgressBar("Seeding")
    try:
        report = await run_seed(
            database_url(),
            users=users,
            seed=seed,
            reset=reset,
            today=day,
            progress=bar.update,
        )
    except KeyboardInterrupt:
        raise CommandError("interrupted: nothing was written") from None
    finally:
        bar.close()
    print(report.summary())
    if report.users_existing and not reset:
        print(again_hint(today))


def again_hint(today: str) -> str:
    """
    What to do about users that were already there: seeding never changes
    an existing user's rows, so another --today (or a changed generator)
    needs --reset.
    """
    changed = (
        f"--today={today} does not move them" if today else "they stay as they are"
    )
    return (
        f"Seeded users keep the rows they were first seeded with ({changed}): "
        "add --reset to remove the seeded users (never others) and seed them "
        "again."
    )
