"""Forward-only SQL migrations, applied at start under an advisory lock so replicas never race.

Each source (the shared messaging tables, then the service's own) is a folder of `NNNN_<intent>.sql`
files. Applied files are recorded with a checksum; an applied file that changed is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

log = structlog.get_logger()
SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    source: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def read_migrations(source: str, folder: Path) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: migration files are named NNNN_<intent>.sql")
        found.append(Migration(source, int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{folder}: two migrations share a version")
    return found


async def migrate(conn: asyncpg.Connection, *, schema: str, sources: list[tuple[str, Path]]) -> list[str]:
    """Apply what is missing, in order; returns the names applied. Safe to run from many replicas at once."""
    applied_now: list[str] = []
    lock_key = int.from_bytes(hashlib.sha256(f"migrate:{schema}".encode()).digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migration (
                   source text NOT NULL,
                   version integer NOT NULL,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now(),
                   PRIMARY KEY (source, version))"""
        )
        rows = await conn.fetch("SELECT source, version, checksum FROM schema_migration")
        done = {(r["source"], r["version"]): r["checksum"] for r in rows}
        for source, folder in sources:
            for migration in read_migrations(source, folder):
                key = (migration.source, migration.version)
                if key in done:
                    if done[key] != migration.checksum:
                        raise MigrationError(
                            f"{source} {migration.version:04d}_{migration.name} was changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migration (source, version, name, checksum) VALUES ($1, $2, $3, $4)",
                        migration.source,
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                label = f"{source}/{migration.version:04d}_{migration.name}"
                applied_now.append(label)
                log.info("db.migration.applied", migration=label, schema=schema)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied_now
