"""
What a seed run did: :class:`SeedReport`, and its summary table for the
command's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from seeds.rows import SEEDED_TABLES, table_name


@dataclass
class SeedReport:
    """What a :func:`seed` run did: the rows it wrote, audit rows included."""

    seed: int
    today: date
    users_requested: int
    users_created: int = 0
    users_existing: int = 0
    users_removed: int = 0
    rows: dict[str, int] = field(
        default_factory=lambda: {table_name(t): 0 for t in SEEDED_TABLES}
    )
    cycles_locked: int = 0
    audit_rows: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        """Every row this run wrote, the audit log's included."""
        return sum(self.rows.values()) + self.audit_rows

    @property
    def nothing_done(self) -> bool:
        return not (self.users_created or self.users_removed or self.audit_rows)

    def summary(self) -> str:
        """
        A plain-text table of the rows this run wrote, or one sentence when
        it had nothing to do.
        """
        if self.nothing_done:
            there = (
                f"all {self.users_requested:,} users of seed {self.seed} are "
                "already in the database"
                if self.users_requested
                else "no users requested and no seeded users to remove"
            )
            return f"Nothing to do: {there}; nothing was written."
        written = {**self.rows, "audit_log": self.audit_rows}
        lines = [f"{'table':<14} {'written':>10}", f"{'-' * 14} {'-' * 10}"]
        lines += [f"{table:<14} {count:>10,}" for table, count in written.items()]
        lines.append(f"{'-' * 14} {'-' * 10}")
        lines.append(f"{'total':<14} {self.total_rows:>10,}")
        lines.append("")
        lines.append(
            f"seed {self.seed}, dates relative to {self.today.isoformat()}: "
            f"{self.users_created} users created, {self.users_existing} already "
            f"there, {self.users_removed} removed, {self.cycles_locked} cycles "
            f"locked, {self.seconds:.1f} s"
        )
        return "\n".join(lines)
