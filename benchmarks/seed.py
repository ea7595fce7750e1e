"""
Seed speed and memory, against the physical floor.

``--memory`` measures only memory: for each size, the peak RSS of the seed
CLI seeding a fresh database and of a second run that finds every user
already there. With ``--stop-after S`` the seed is instead stopped after S
seconds (killed: its transaction rolls back) and its peak RSS so far is
reported: how large counts are measured without seeding them all (a seed
that made every user's id before writing shows it in its first seconds).

For each size (default 1,000 and 10,000 users) this creates three fresh,
migrated databases on the server of ``DATABASE_URL`` (or the embedded one)
and measures, each in its own process so peak RSS is per run:

- **seed**: ``piccolo planner_app seed --users=N`` through the real CLI, with
  every trigger the migrations installed (derived columns, ownership keys,
  updated_at, the lock and the audit log, whose statement-level triggers
  write one ``insert ... select`` per ``COPY``, as in production);
- **floor**: the seeded rows (every column, those the database filled
  included) restored into the same tables by a binary ``COPY`` per table
  with triggers and foreign-key checks off (``session_replication_role =
  replica``, needs a superuser; the lock's triggers fire even then, so
  cycles go in unlocked and are locked last, as the seed does), timing the
  ``COPY`` alone; in the same process the seed's own rows copied batch by
  batch with triggers on (what the database's rules cost by themselves) and
  generation alone.

Run by hand::

    python benchmarks/seed.py                 # 1000 and 10000 users
    python benchmarks/seed.py --users 1000    # one size
    python benchmarks/seed.py --memory --users 1000 5000
    python benchmarks/seed.py --memory --users 30000 300000 --stop-after 60

Target: the whole seed process within 2.5x of the raw ``COPY`` floor (both
measured in the same run). Figures go in docs/performance.md, section
"Seeding".
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from planner_app.database import (  # noqa: E402
    embedded_server_url,
    validate_database_url,
    with_database,
)
from planner_app.tables import Cycle  # noqa: E402
from seeds.generate import Generator, user_chunks  # noqa: E402
from seeds.rows import SEEDED_TABLES, column_names, table_name  # noqa: E402
from seeds.writer import BATCH_USERS, write_batch  # noqa: E402

PICCOLO = str(Path(sys.executable).with_name("piccolo"))
UNLOCKED = {"lock_enforced": "false", "locked_at": "null::timestamptz"}
"""How the floor reads a cycle: unlocked, as the seed first writes it."""
TODAY = date(2026, 11, 25)


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return validate_database_url(url)
    return embedded_server_url("postgres")


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a process; return wall seconds, its peak RSS in MB, its stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


async def create_database(server: str) -> str:
    name = f"planner_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(with_database(server, "postgres"))
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    url = with_database(server, name)
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [PICCOLO, "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url


async def drop_database(server: str, url: str) -> None:
    conn = await asyncpg.connect(with_database(server, "postgres"))
    try:
        name = url.rsplit("/", 1)[1]
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


async def triggers(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "select tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and not t.tgisinternal order by tgname"
        )
        return [row["tgname"] for row in rows]
    finally:
        await conn.close()


async def floor(seeded_url: str, raw_url: str, rules_url: str, users: int) -> None:
    """
    Child process: restore the seeded rows of ``seeded_url`` (every column,
    the database's included) into ``raw_url`` with a binary ``COPY`` per
    table, triggers off; then generate the seed's rows and copy each batch
    into ``rules_url`` with the rules on. Times generation and each COPY.
    """
    seeded = await asyncpg.connect(seeded_url)
    raw = await asyncpg.connect(raw_url)
    rules = await asyncpg.connect(rules_url)
    generating = copying_raw = copying_rules = 0.0
    rows = 0
    try:
        locked = [
            row["id"]
            for row in await seeded.fetch("select id from cycle where lock_enforced")
        ]
        async with raw.transaction():
            # Triggers and foreign keys off, but for those that fire even in
            # replica mode (the lock): cycles go in unlocked, as the seed
            # writes them, and are locked last, timed like the rest.
            await raw.execute("set local session_replication_role = replica")
            for table in SEEDED_TABLES:
                schema = table._meta.schema or "public"
                query = None
                if table is Cycle:
                    query = (
                        "select "
                        + ", ".join(
                            UNLOCKED.get(name, f'"{name}"')
                            for name in column_names(table)
                        )
                        + " from public.cycle"
                    )
                dump = io.BytesIO()
                if query:
                    await seeded.copy_from_query(query, output=dump, format="binary")
                else:
                    await seeded.copy_from_table(
                        table._meta.tablename,
                        schema_name=schema,
                        output=dump,
                        format="binary",
                    )
                dump.seek(0)
                tick = time.perf_counter()
                await raw.copy_to_table(
                    table._meta.tablename,
                    schema_name=schema,
                    source=dump,
                    format="binary",
                )
                copying_raw += time.perf_counter() - tick
            tick = time.perf_counter()
            await raw.execute(
                "update public.cycle set lock_enforced = true where id = any($1)",
                locked,
            )
            copying_raw += time.perf_counter() - tick
        generator = Generator(12, TODAY)
        async with rules.transaction():
            for chunk in user_chunks(users, BATCH_USERS):
                tick = time.perf_counter()
                batch = generator.batch(chunk)
                generating += time.perf_counter() - tick
                tick = time.perf_counter()
                await write_batch(rules, batch)
                copying_rules += time.perf_counter() - tick
                rows += batch.row_count()
    finally:
        await seeded.close()
        await raw.close()
        await rules.close()
    print(f"{rows} {generating:.3f} {copying_raw:.3f} {copying_rules:.3f}")


def seed_command(users: int) -> list[str]:
    return [
        PICCOLO,
        "planner_app",
        "seed",
        f"--users={users}",
        f"--today={TODAY.isoformat()}",
    ]


def run_seed(url: str, users: int) -> tuple[float, float, str]:
    """The seed CLI on ``url``: wall seconds, peak RSS in MB, its summary."""
    return run_measured(seed_command(users), {**os.environ, "DATABASE_URL": url})


def summary_count(output: str, label: str) -> int:
    """A count from the seed's summary table (``total``, ``audit_log``)."""
    line = next(line for line in output.splitlines() if line.startswith(label))
    return int(line.split()[1].replace(",", ""))


def peak_rss_stopped(url: str, users: int, seconds: float) -> float:
    """Peak RSS in MB of a seed run stopped (killed) after ``seconds``."""
    process = subprocess.Popen(
        seed_command(users),
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
    )
    status = Path(f"/proc/{process.pid}/status")
    peak_kb = 0
    deadline = time.monotonic() + seconds
    try:
        while process.poll() is None and time.monotonic() < deadline:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
    return peak_kb / 1024


async def measure_memory(server: str, users: int, stop_after: float | None) -> None:
    url = await create_database(server)
    try:
        if stop_after:
            rss = peak_rss_stopped(url, users, stop_after)
            print(
                f"{users:>9,} users  peak RSS {rss:5.0f} MB "
                f"in the first {stop_after:.0f} s (then stopped)"
            )
            return
        seconds, rss, output = run_seed(url, users)
        again_seconds, again_rss, again = run_seed(url, users)
        print(
            f"{users:>9,} users  seed {seconds:7.1f} s  peak RSS {rss:5.0f} MB  "
            f"({summary_count(output, 'total'):,} rows)  |  second run "
            f"{again_seconds:6.1f} s  peak RSS {again_rss:5.0f} MB  "
            f"({again.strip()})"
        )
    finally:
        await drop_database(server, url)


async def measure(server: str, users: int) -> None:
    seed_url = await create_database(server)
    floor_url = await create_database(server)
    rules_url = await create_database(server)
    try:
        seconds, rss, output = run_seed(seed_url, users)
        audit = summary_count(output, "audit_log")
        total = summary_count(output, "total") - audit
        installed = await triggers(seed_url)

        floor_seconds, floor_rss, floor_out = run_measured(
            [
                sys.executable,
                __file__,
                "--floor",
                seed_url,
                floor_url,
                rules_url,
                str(users),
            ],
            dict(os.environ),
        )
        floor_rows, generating, copying, copying_rules = floor_out.split()
        floor_rows_n = int(floor_rows)
        print(f"\n== {users:,} users ({total:,} rows + {audit:,} audit rows)")
        print(f"triggers on: {', '.join(installed)}")
        print(
            f"seed (CLI, whole process)  {seconds:7.2f} s  "
            f"{total / seconds:9,.0f} rows/s  peak RSS {rss:6.0f} MB"
        )
        print(
            f"floor: raw COPY only       {float(copying):7.2f} s  "
            f"{floor_rows_n / float(copying):9,.0f} rows/s"
        )
        print(
            f"COPY with triggers on      {float(copying_rules):7.2f} s  "
            f"{floor_rows_n / float(copying_rules):9,.0f} rows/s  "
            "(the database's own cost of its rules)"
        )
        print(
            f"generation only            {float(generating):7.2f} s  "
            f"(floor process {floor_seconds:.2f} s, peak RSS {floor_rss:.0f} MB)"
        )
        ratio = seconds / float(copying)
        print(
            f"seed / COPY floor          {ratio:7.2f}x  "
            f"(target <= 2.5x: {'met' if ratio <= 2.5 else 'MISSED'})"
        )
        print(f"seed / COPY triggers on    {seconds / float(copying_rules):7.2f}x")
        if floor_rows_n != total:
            print(f"warning: floor copied {floor_rows_n} rows, seed {total}")
    finally:
        await drop_database(server, seed_url)
        await drop_database(server, floor_url)
        await drop_database(server, rules_url)


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--floor":
        asyncio.run(floor(*sys.argv[2:5], int(sys.argv[5])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--memory", action="store_true", help="peak RSS of the seed only"
    )
    parser.add_argument(
        "--stop-after",
        type=float,
        help="with --memory: stop each seed after this many seconds",
    )
    args = parser.parse_args()
    server = server_url()
    tables = ", ".join(table_name(t) for t in SEEDED_TABLES)
    print(f"{os.cpu_count()} CPUs; rows by table: {tables}")
    for users in args.users:
        if args.memory:
            asyncio.run(measure_memory(server, users, args.stop_after))
        else:
            asyncio.run(measure(server, users))


if __name__ == "__main__":
    main()
