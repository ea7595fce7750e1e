"""
Seed data for development and tests: realistic, deterministic Faker data
(:func:`seed`) and a small fixed dataset (:mod:`seeds.fixtures`).
"""

from seeds.generate import DEFAULT_SEED, SEED_EMAIL_DOMAIN, seeded_user_id
from seeds.writer import SeedError, SeedReport, remove_seeded, seed

__all__ = [
    "DEFAULT_SEED",
    "SEED_EMAIL_DOMAIN",
    "SeedError",
    "SeedReport",
    "remove_seeded",
    "seed",
    "seeded_user_id",
]
