"""What the composition root hands down to every part of a service: its settings, its clock, its pool, its broker.

`shared.runtime` builds one `ServiceContext` when the service starts. Routes reach it through the request
(`shared.runtime.Now`, `get_runtime`), inbox handlers receive a `HandlerContext` with their message, and jobs
and long-lived components (the distributor's hub) receive the `Runtime` that carries it. So nothing below
`main.py` reads the environment or the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import asyncpg

from shared.clock import Clock
from shared.config import ServiceSettings
from shared.messaging.broker import Broker
from shared.messaging.envelope import Envelope

SettingsT = TypeVar("SettingsT", bound=ServiceSettings, covariant=True)


@dataclass(frozen=True)
class ServiceContext(Generic[SettingsT]):
    settings: SettingsT
    clock: Clock
    pool: asyncpg.Pool
    broker: Broker


@dataclass(frozen=True)
class HandlerContext(Generic[SettingsT]):
    """What an inbox handler runs with: the inbox transaction's connection, its message, and the service."""

    conn: asyncpg.Connection
    envelope: Envelope
    service: ServiceContext[SettingsT]

    @property
    def settings(self) -> SettingsT:
        return self.service.settings

    def now(self) -> datetime:
        return self.service.clock.now()
