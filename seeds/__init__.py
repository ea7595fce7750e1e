"""
Seed data for development and tests: realistic, deterministic Faker data
(:func:`seed`) and a small fixed dataset (:mod:`seeds.fixtures`).

Importing this package is cheap: the generator (Faker) and the writer
(asyncpg) load when :func:`seed` or another of their names is first used,
so a CLI that merely registers the seed command does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

DEFAULT_SEED = 12

SEED_EMAIL_DOMAIN = "seed.planner.test"
"""Every seeded auth user's email ends with ``@`` this domain (a reserved
``.test`` name): it is how ``--reset`` recognises seeded users."""


class SeedError(RuntimeError):
    """Seeding cannot run; the message says what to fix (one line)."""


_LAZY = {
    "SeedReport": "seeds.report",
    "remove_seeded": "seeds.database",
    "seed": "seeds.writer",
    "seeded_user_id": "seeds.generate",
}

if TYPE_CHECKING:
    from seeds.database import remove_seeded
    from seeds.generate import seeded_user_id
    from seeds.report import SeedReport
    from seeds.writer import seed


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seeds' has no attribute {name!r}")


__all__ = [
    "DEFAULT_SEED",
    "SEED_EMAIL_DOMAIN",
    "SeedError",
    "SeedReport",
    "remove_seeded",
    "seed",
    "seeded_user_id",
]
