"""The key lifecycle's rules under random sequences of rotations, re-signing, sessions, acks, time and revocations.

Property-based, against the real database and the real use cases (the admission of identifies included, with real
signatures), on a database of this module's own: the JWKS is the whole database's. After every step:

- a revoked key is never published, and no live gateway's current bundle is signed by it;
- the signing key is always published; a retired key during its grace period is;
- after its grace, a retired key is published exactly while a connected gateway holds an acknowledged bundle it
  signed (the test's own record of who is connected, not the distributor's);
- a gateway admitted is handed, or already holds, a bundle signed by a key published at that instant.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway_simulator.identity import GatewayState
from license_distributor import repository, service
from license_distributor.config import Settings
from license_distributor.key_encryption import installed, resolve_kek
from license_distributor.main import SPEC
from license_distributor.repository import GatewayRecord
from license_distributor.signing import b64url_decode
from shared.auth import Principal, Role
from shared.db import create_pool, transaction
from shared.runtime import apply_migrations
from tests.harness import fresh_platform

OPERATOR = Principal(subject="operator-of-the-rules", roles=frozenset({Role.OPERATOR}), account_id=None)
ISSUER = "urn:rental:license-distributor"
REPLICA = "replica-of-the-rules"
GRACE = timedelta(hours=1)
HEARTBEAT = timedelta(seconds=10)
GATEWAYS = 3


@dataclass
class Rig:
    pool: asyncpg.Pool
    admin: asyncpg.Connection


@pytest.fixture(scope="module")
async def rig(infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    dev_dir: Path = tmp_path_factory.mktemp("key-rules")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        await apply_migrations(SPEC, own.settings(Settings))
        pool = await create_pool(dsn=own.database_url("licensing"), schema="licensing", max_size=4)
        admin = await asyncpg.connect(own.admin_database_url)
        try:
            # The KEK any distributor of this process uses (one process, one KEK).
            with installed(resolve_kek(value=None, file=Settings().key_encryption_key_file)):
                yield Rig(pool=pool, admin=admin)
        finally:
            await admin.close()
            await pool.close()


@dataclass
class Gateway:
    record: GatewayRecord
    state: GatewayState
    connected_at: datetime | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.record.gateway_id


@dataclass
class World:
    rig: Rig
    now: datetime
    gateways: list[Gateway] = field(default_factory=list)

    @property
    def alive_after(self) -> datetime:
        return self.now - 3 * HEARTBEAT

    async def published(self) -> set[str]:
        keys = await repository.published_public_keys(self.rig.pool, now=self.now, alive_after=self.alive_after)
        return {k["kid"] for k in keys}

    async def beat(self) -> None:
        await repository.beat(self.rig.pool, replica=REPLICA, now=self.now)


async def new_world(rig: Rig) -> World:
    await rig.admin.execute(
        """TRUNCATE licensing.key_revocation, licensing.key_rotation, licensing.bundle, licensing.domain_bundle,
                    licensing.gateway, licensing.replica_heartbeat, licensing.signing_key CASCADE"""
    )
    world = World(rig=rig, now=datetime.now(UTC))
    account = uuid.uuid4()
    for _ in range(GATEWAYS):
        state = GatewayState.generate(phones=0)
        record = GatewayRecord(
            gateway_id=uuid.uuid4(), domain_id=uuid.uuid4(), account_id=account, hwid=state.hwid, product=state.product
        )
        async with transaction(rig.pool) as conn:
            await service.register_gateway(
                conn, gateway=record, public_key=state.public_key, now=world.now, issuer=ISSUER
            )
        world.gateways.append(Gateway(record=record, state=state))
    await world.beat()
    return world


def kid_of(jws: str) -> str:
    header = json.loads(b64url_decode(jws.split(".", 1)[0]))
    return str(header["kid"])


async def withdrawn(world: World, kid: str | None) -> bool:
    """Revoked, or retired and past its grace: no bundle it signed may be handed out as current."""
    if kid is None:
        return False
    row = await world.rig.admin.fetchrow(
        "SELECT revoked_at, published_until FROM licensing.signing_key WHERE kid = $1", kid
    )
    assert row is not None
    return row["revoked_at"] is not None or (row["published_until"] is not None and row["published_until"] <= world.now)


async def connect(world: World, gateway: Gateway) -> None:
    """An identify through the real admission, signed by the gateway, reporting the seq it acknowledged."""
    held = await world.rig.admin.fetchrow(
        """SELECT g.acked_seq, b.kid FROM licensing.gateway g
           LEFT JOIN licensing.bundle b ON b.hwid = g.hwid AND b.seq = g.acked_seq WHERE g.id = $1""",
        gateway.id,
    )
    assert held is not None
    stale = await withdrawn(world, held["kid"])
    nonce = uuid.uuid4().hex
    identify = service.Identify(
        hwid=gateway.state.hwid, nonce=nonce, signature=gateway.state.sign_challenge(nonce), seq_held=held["acked_seq"]
    )
    (admitted,) = await service.open_sessions(
        world.rig.pool, identifies=[identify], replica=REPLICA, now=world.now, issuer=ISSUER
    )
    assert isinstance(admitted, service.Admitted)
    gateway.connected_at = admitted.connected_at
    published = await world.published()
    if admitted.delivery is not None:
        assert admitted.delivery.seq > held["acked_seq"]
        handed = kid_of(admitted.delivery.jws)
        assert handed in published, "handed a bundle signed by a key not published"
        assert not await withdrawn(world, handed), "handed a bundle signed by a withdrawn key"
    else:
        # What it holds stays good only if its key is not withdrawn: a stale gateway coming back is re-signed, so
        # it never brings a key past its grace back into the JWKS.
        assert not stale, "a gateway holding a withdrawn key's bundle came back and was handed nothing"
        assert held["kid"] in published, "left holding a bundle signed by a key not published"


async def step(world: World, op: tuple[str, int]) -> None:
    kind, arg = op
    gateway = world.gateways[arg % GATEWAYS]
    if kind == "rotate":
        await service.request_key_rotation(
            world.rig.pool, principal=OPERATOR, idempotency_key=None, now=world.now, grace=GRACE
        )
    elif kind == "resign":
        while await service.resign_next_batch(world.rig.pool, now=world.now, issuer=ISSUER, max_domains=2) is not None:
            pass
    elif kind == "connect":
        await connect(world, gateway)
    elif kind == "ack" and gateway.connected_at is not None:
        current = await world.rig.admin.fetchval("SELECT current_seq FROM licensing.gateway WHERE id = $1", gateway.id)
        await repository.record_acks(world.rig.pool, acks=[(gateway.id, current, world.now)])
    elif kind == "disconnect" and gateway.connected_at is not None:
        await repository.record_disconnects(
            world.rig.pool, replica=REPLICA, disconnects=[(gateway.id, gateway.connected_at, world.now)]
        )
        gateway.connected_at = None
    elif kind == "advance":
        world.now += timedelta(seconds=ADVANCES_S[arg % len(ADVANCES_S)])
        await world.beat()
    elif kind == "revoke":
        kids = await world.rig.admin.fetch(
            "SELECT kid FROM licensing.signing_key WHERE revoked_at IS NULL ORDER BY created_at, kid"
        )
        kid = kids[arg % len(kids)]["kid"]
        await service.revoke_signing_key(
            world.rig.pool,
            principal=OPERATOR,
            kid=kid,
            idempotency_key=uuid.uuid4().hex,
            now=world.now,
            issuer=ISSUER,
            grace=GRACE,
        )


async def check(world: World) -> None:
    published = await world.published()
    keys = await world.rig.admin.fetch(
        "SELECT kid, revoked_at, published_until FROM licensing.signing_key ORDER BY created_at DESC, kid DESC"
    )
    signing = next(k["kid"] for k in keys if k["revoked_at"] is None)
    assert signing in published
    connected = [g.id for g in world.gateways if g.connected_at is not None]
    held_by_connected = {
        r["kid"]
        for r in await world.rig.admin.fetch(
            """SELECT b.kid FROM licensing.gateway g JOIN licensing.bundle b ON b.hwid = g.hwid AND b.seq = g.acked_seq
               WHERE g.id = ANY($1)""",
            connected,
        )
    }
    for key in keys:
        kid = key["kid"]
        if key["revoked_at"] is not None:
            assert kid not in published, f"revoked {kid} published"
        elif kid != signing and key["published_until"] > world.now:
            assert kid in published, f"{kid} in its grace not published"
        elif kid != signing:
            assert (kid in published) == (kid in held_by_connected), f"{kid} past its grace"
    revoked_in_use = await world.rig.admin.fetchval(
        """SELECT count(*) FROM licensing.gateway g JOIN licensing.bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           JOIN licensing.signing_key k ON k.kid = b.kid WHERE g.removed_at IS NULL AND k.revoked_at IS NOT NULL"""
    )
    assert revoked_in_use == 0


# Connecting is the step with the most to check: drawn twice as often.
KINDS = ["rotate", "resign", "connect", "connect", "ack", "disconnect", "advance", "advance", "revoke"]
ADVANCES_S = [60, 1800, 3700]
ops = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 8)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(steps=ops)
# The stories the rules are about, always tried: a connected gateway keeps a key past its grace until it acks; one
# that went offline does not, and is re-signed when it comes back; a revocation of the signing key.
@example(steps=[("connect", 0), ("ack", 0), ("rotate", 0), ("advance", 2), ("resign", 0), ("ack", 0)])
@example(steps=[("connect", 1), ("ack", 1), ("disconnect", 1), ("rotate", 0), ("advance", 2), ("connect", 1)])
@example(steps=[("connect", 2), ("revoke", 0), ("connect", 2), ("revoke", 0), ("resign", 0), ("connect", 1)])
async def test_the_jwks_and_the_bundles_handed_out_follow_the_key_lifecycle_whatever_happens(
    rig: Rig, steps: list[tuple[str, int]]
) -> None:
    world = await new_world(rig)
    await check(world)
    for op in steps:
        await step(world, op)
        await check(world)
