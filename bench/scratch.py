"""A scratch database on the local Postgres for one benchmark run, removed afterwards whatever happens."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from scripts.bootstrap_db import bootstrap

ADMIN_URL = os.environ.get("RENTAL_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """A fresh database `<prefix>_<random>` with the services' roles and schemas (`scripts.bootstrap_db`); its
    name."""
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await bootstrap(admin_url=ADMIN_URL, database=database)
    try:
        yield database
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()
