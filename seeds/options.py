"""
The seed command's options, parsed into values or a :class:`~seeds.SeedError`
saying what to give instead.
"""

from __future__ import annotations

from datetime import date

from seeds import SeedError


def parse_users(value: object) -> int:
    """``--users``: a whole number, 0 or more."""
    if isinstance(value, bool):
        raise SeedError("--users needs a value, e.g. --users=5")
    try:
        users = int(str(value).strip())
    except ValueError:
        raise SeedError(
            f"--users must be a whole number of users, got {value!r}"
        ) from None
    if users < 0:
        raise SeedError(f"--users must be 0 or more, got {users}")
    return users


def parse_seed(value: object) -> int:
    """``--seed``: a whole number (any sign)."""
    if isinstance(value, bool):
        raise SeedError("--seed needs a value, e.g. --seed=12")
    try:
        return int(str(value).strip())
    except ValueError:
        raise SeedError(f"--seed must be a whole number, got {value!r}") from None


def parse_today(value: object) -> date | None:
    """``--today``: an ISO date, or empty for the real today."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise SeedError("--today needs a date, e.g. --today=2026-11-23")
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SeedError(
            f"--today must be a date like 2026-11-23, got {value!r}"
        ) from None
