"""Create the platform database (if missing) and apply deploy/postgres/*.sql to it, as a superuser."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import asyncpg

INIT_SQL_DIR = Path(__file__).resolve().parents[1] / "deploy" / "postgres"


async def bootstrap(*, admin_url: str, database: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(admin_url, database=database)
    try:
        for path in sorted(INIT_SQL_DIR.glob("*.sql")):
            # Roles are cluster-wide: two runs creating them at once must not collide.
            await conn.execute("SELECT pg_advisory_lock(727001)")
            try:
                await conn.execute(path.read_text())
            finally:
                await conn.execute("SELECT pg_advisory_unlock(727001)")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="rental")
    args = parser.parse_args()
    asyncio.run(bootstrap(admin_url=args.admin_url, database=args.database))
    print(f"database {args.database!r}: schemas and roles ready")


if __name__ == "__main__":
    main()
