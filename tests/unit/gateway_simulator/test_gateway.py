"""A simulated gateway keeps its highest seq and trusted keys on disk, enforces expiry and warnings by itself, and
trusts exactly the keys the distributor publishes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from gateway_simulator.gateway import JwksCache, SimulatedGateway, _retry_after_s
from gateway_simulator.identity import FileStore, GatewayState
from gateway_simulator.verifier import BundleRejected, Rejection
from license_distributor.domain import Claims, ContractRental, Device, Runway, bundle_content
from license_distributor.signing import SigningKey, generate_signing_key, sign_bundle

KEY = generate_signing_key()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def signed(
    state: GatewayState,
    *,
    seq: int,
    now: datetime,
    expires_in: timedelta | None,
    key: SigningKey = KEY,
    warnings_at: tuple[datetime, ...] = (),
) -> str:
    rental = ContractRental(
        contract_id=uuid.uuid4(),
        active=True,
        ends_at=None,
        devices=tuple(Device(hwid=p.hwid, product=p.product) for p in state.phones[:1]),
        licences=(),
        runway=Runway(depleted=False, depletes_at=now + expires_in if expires_in else None, warnings_at=warnings_at),
    )
    content = bundle_content(domain_id=uuid.uuid4(), rentals=[rental], now=now)
    return sign_bundle(key, Claims(issuer="urn:t", hwid=state.hwid, seq=seq, issued_at=now, content=content).as_dict())


@pytest.fixture
def jwks_keys() -> tuple[list[dict[str, str]], list[int]]:
    """The JWKS a fake distributor serves (mutable), and how often it was fetched."""
    return [KEY.public_jwk], [0]


def gateway_with(
    state: GatewayState,
    store: FileStore,
    clock: Clock,
    keys: list[dict[str, str]],
    fetches: list[int],
    *,
    reachable: bool = True,
    min_refresh_s: float = 0,
) -> SimulatedGateway:
    def handler(request: httpx.Request) -> httpx.Response:  # httpx.MockTransport's handler signature
        if not reachable:
            raise httpx.ConnectError("the distributor is down", request=request)
        fetches[0] += 1
        return httpx.Response(200, json={"keys": list(keys)})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    jwks = JwksCache(url="http://distributor/.well-known/jwks.json", client=client, min_refresh_s=min_refresh_s)
    return SimulatedGateway(state=state, store=store, distributor_url="http://distributor", jwks=jwks, clock=clock)


async def restarted_from(
    store: FileStore, hwid: str, clock: Clock, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> SimulatedGateway:
    """The gateway as it comes back after a restart: what it stored, loaded and restored."""
    stored = store.load(hwid)
    assert stored is not None
    gateway = gateway_with(stored, store, clock, *jwks_keys)
    await gateway.restore()
    return gateway


async def test_the_highest_seq_reaches_disk_and_a_restarted_gateway_refuses_that_seq_or_older(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    clock, store = Clock(), FileStore(tmp_path)
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, store, clock, *jwks_keys)
    await gateway.offer(signed(state, seq=5, now=clock.now, expires_in=timedelta(hours=1)))
    on_disk = json.loads(store.path(state.hwid).read_text())
    assert on_disk["highest_seq"] == 5

    restarted = await restarted_from(store, state.hwid, clock, jwks_keys)
    assert restarted.phones_running() == [state.phones[0].hwid]
    for seq in (5, 4):
        with pytest.raises(BundleRejected) as caught:
            await restarted.offer(signed(state, seq=seq, now=clock.now, expires_in=timedelta(hours=2)))
        assert caught.value.reason == Rejection.STALE_SEQ
    await restarted.offer(signed(state, seq=6, now=clock.now, expires_in=timedelta(hours=2)))
    assert restarted.state.highest_seq == 6


async def test_a_stored_bundle_that_expired_while_the_gateway_was_off_is_dropped_at_start(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    clock, store = Clock(), FileStore(tmp_path)
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, store, clock, *jwks_keys)
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=timedelta(seconds=5)))
    clock.now += timedelta(seconds=6)
    restarted = await restarted_from(store, state.hwid, clock, jwks_keys)
    assert restarted.current is None
    assert restarted.phones_running() == []
    assert restarted.state.highest_seq == 1


async def test_phones_run_only_while_the_bundle_lists_them_and_it_has_not_expired(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    clock = Clock()
    state = GatewayState.generate(phones=2)
    gateway = gateway_with(state, FileStore(tmp_path), clock, *jwks_keys)
    assert gateway.phones_running() == []
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=timedelta(seconds=5)))
    assert gateway.phones_running() == [state.phones[0].hwid]
    assert gateway.phones_running(clock.now + timedelta(seconds=5)) == []


async def test_the_gateway_reboots_by_itself_at_expiry_without_any_connection(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    clock, store = Clock(), FileStore(tmp_path)
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, store, clock, *jwks_keys)
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=timedelta(seconds=30)))
    assert gateway.stats.reboot_reasons == []
    clock.now += timedelta(seconds=30)
    await _until(lambda: gateway.stats.reboot_reasons == ["rental_expired"])
    assert gateway.current is None
    saved = store.load(state.hwid)
    assert saved is not None
    assert saved.bundle_jws is None
    assert saved.highest_seq == 1
    assert saved.reboots == 1


async def test_a_bundle_signed_by_a_key_not_yet_in_the_cached_jwks_is_accepted_after_one_refresh(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    keys, fetches = jwks_keys
    clock = Clock()
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, FileStore(tmp_path), clock, keys, fetches)
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=None))
    assert fetches[0] == 1
    rotated = generate_signing_key()
    keys.append(rotated.public_jwk)
    accepted = await gateway.offer(signed(state, seq=2, now=clock.now, expires_in=None, key=rotated))
    assert accepted.kid == rotated.kid
    assert fetches[0] == 2
    # A key nobody publishes stays refused, after that one refresh.
    with pytest.raises(BundleRejected) as caught:
        await gateway.offer(signed(state, seq=3, now=clock.now, expires_in=None, key=generate_signing_key()))
    assert caught.value.reason == Rejection.UNKNOWN_KEY


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (503, "3", 3.0),
        (503, "0.5", 0.5),
        (503, "0", None),  # no wait asked: the usual back-off
        (503, "soon", None),  # unreadable (an HTTP date is not sent by our distributor)
        (503, "100000", None),  # beyond reason: the usual back-off, never hours of silence
        (502, "3", None),  # only a busy distributor's 503 says when to come back
    ],
)
def test_a_busy_distributor_s_retry_after_is_how_long_the_gateway_waits(
    status: int, retry_after: str, expected: float | None
) -> None:
    refused = InvalidStatus(Response(status, "refused", Headers([("Retry-After", retry_after)])))
    assert _retry_after_s(refused) == expected


async def test_a_gateway_restarted_while_the_distributor_is_unreachable_enforces_its_stored_bundle_until_exp(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    keys, fetches = jwks_keys
    clock, store = Clock(), FileStore(tmp_path)
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, store, clock, keys, fetches)
    await gateway.offer(signed(state, seq=3, now=clock.now, expires_in=timedelta(seconds=30)))
    # The keys it trusts are on disk beside the bundle and the floor.
    on_disk = json.loads(store.path(state.hwid).read_text())
    assert on_disk["trusted_keys"] == {"keys": [KEY.public_jwk]}

    stored = store.load(state.hwid)
    assert stored is not None
    fetched_before = fetches[0]
    restarted = gateway_with(stored, store, clock, keys, fetches, reachable=False)
    await restarted.restore()
    assert fetches[0] == fetched_before  # no network needed to restore
    assert restarted.phones_running() == [state.phones[0].hwid]
    # It tells the distributor the bundle it enforces and its floor.
    identify = restarted._identify("nonce")
    assert (identify["seq"], identify["floor"]) == (3, 3)
    # A refresh that cannot reach the distributor keeps the keys it trusts, and the bundle.
    assert not await restarted.refresh_keys()
    assert restarted.phones_running() == [state.phones[0].hwid]

    clock.now += timedelta(seconds=30)
    await _until(lambda: restarted.stats.reboot_reasons == ["rental_expired"])
    assert restarted.phones_running() == []
    identify = restarted._identify("nonce")
    assert (identify["seq"], identify["floor"]) == (0, 3)  # it holds nothing now; it still refuses seq 3


async def test_a_key_no_longer_published_is_no_longer_trusted_and_its_held_bundle_is_dropped(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    keys, fetches = jwks_keys
    clock, store = Clock(), FileStore(tmp_path)
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, store, clock, keys, fetches)
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=timedelta(hours=1)))
    assert gateway.phones_running() == [state.phones[0].hwid]

    rotated = generate_signing_key()
    keys[:] = [rotated.public_jwk]  # the old key left the JWKS (revoked, or its grace ended)
    assert await gateway.refresh_keys()
    assert gateway.stats.distrusted == [KEY.kid]
    assert gateway.current is None
    assert gateway.phones_running() == []
    # A bundle signed by it is refused from now on, even one it would have taken before.
    with pytest.raises(BundleRejected) as caught:
        await gateway.offer(signed(state, seq=2, now=clock.now, expires_in=timedelta(hours=1)))
    assert caught.value.reason == Rejection.UNKNOWN_KEY
    # After a restart too: the keys on disk are the ones published now.
    restarted = await restarted_from(store, state.hwid, clock, jwks_keys)
    assert restarted.current is None
    with pytest.raises(BundleRejected):
        await restarted.offer(signed(state, seq=2, now=clock.now, expires_in=timedelta(hours=1)))
    accepted = await restarted.offer(signed(state, seq=2, now=clock.now, expires_in=timedelta(hours=1), key=rotated))
    assert accepted.kid == rotated.kid
    assert restarted.phones_running() == [state.phones[0].hwid]


async def test_a_bundle_is_checked_against_the_keys_published_when_it_arrives_not_a_cached_copy(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    keys, fetches = jwks_keys
    clock = Clock()
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, FileStore(tmp_path), clock, keys, fetches)
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=timedelta(hours=1)))
    keys.clear()  # unpublished between two bundles, with no scheduled refresh in between
    with pytest.raises(BundleRejected) as caught:
        await gateway.offer(signed(state, seq=2, now=clock.now, expires_in=timedelta(hours=1)))
    assert caught.value.reason == Rejection.UNKNOWN_KEY


async def test_the_scheduled_refresh_runs_every_key_refresh_s_connected_or_not(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    keys, fetches = jwks_keys
    clock = Clock()
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, FileStore(tmp_path), clock, keys, fetches)
    gateway.key_refresh_s = 0.05
    gateway.ws_url = "ws://127.0.0.1:9/v1/gateways/connect"  # nobody listens: never connected
    task = asyncio.create_task(gateway.run())
    try:
        await _until(lambda: fetches[0] >= 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_each_warning_is_raised_at_its_signed_instant_offline_once_even_across_a_restart(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    clock, store = Clock(), FileStore(tmp_path)
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, store, clock, *jwks_keys)
    first, second = clock.now + timedelta(seconds=10), clock.now + timedelta(seconds=20)
    await gateway.offer(
        signed(state, seq=1, now=clock.now, expires_in=timedelta(seconds=30), warnings_at=(first, second))
    )
    await asyncio.sleep(0.05)
    assert gateway.stats.warnings == []
    assert gateway.warning_shown() is None

    clock.now = first
    await _until(lambda: len(gateway.stats.warnings) == 1)
    raised = gateway.stats.warnings[0]
    assert (raised.at, raised.raised_at, raised.time_left_s) == (first, first, 20)
    assert gateway.warning_shown() == raised

    restarted = await restarted_from(store, state.hwid, clock, jwks_keys)
    await asyncio.sleep(0.05)
    assert restarted.stats.warnings == []  # the first was raised before the restart: not again
    clock.now = second
    await _until(lambda: len(restarted.stats.warnings) == 1)
    assert restarted.stats.warnings[0].at == second
    assert restarted.stats.warnings[0].time_left_s == 10
    clock.now += timedelta(seconds=10)
    await _until(lambda: restarted.stats.reboot_reasons == ["rental_expired"])


async def test_a_passed_warning_is_raised_once_even_after_many_ladders_before_it(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    """Every rebuild moves a ladder's instants a little, so a gateway remembers more raised instants than it keeps;
    the rungs of the bundle it enforces must never be the ones it forgets (they were raised again at every check)."""
    clock, store = Clock(), FileStore(tmp_path)
    # 100 instants raised under earlier bundles, all later than the current ladder's passed rung.
    state = replace(
        GatewayState.generate(phones=1),
        warnings_raised=tuple(int((clock.now - timedelta(seconds=s)).timestamp()) for s in range(1, 101)),
    )
    gateway = gateway_with(state, store, clock, *jwks_keys)
    passed = clock.now - timedelta(seconds=500)
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=timedelta(seconds=30), warnings_at=(passed,)))
    await _until(lambda: len(gateway.stats.warnings) >= 1)
    await asyncio.sleep(0.2)  # twenty checks of the enforcement loop
    assert [w.at for w in gateway.stats.warnings] == [passed]
    assert int(passed.timestamp()) in gateway.state.warnings_raised


async def test_a_bundle_signed_by_a_key_published_a_moment_ago_is_accepted_within_the_refresh_interval(
    tmp_path: Path, jwks_keys: tuple[list[dict[str, str]], list[int]]
) -> None:
    """A rotation right after a change: the keys were fetched a moment ago, the new bundle names a key they lack.
    The cache fetches again at once for it (the refresh interval only spaces out fetches that could not help)."""
    keys, fetches = jwks_keys
    clock = Clock()
    state = GatewayState.generate(phones=1)
    gateway = gateway_with(state, FileStore(tmp_path), clock, keys, fetches, min_refresh_s=3600)
    await gateway.offer(signed(state, seq=1, now=clock.now, expires_in=timedelta(hours=1)))
    await gateway.offer(signed(state, seq=2, now=clock.now, expires_in=timedelta(hours=1)))
    assert fetches == [1]  # the interval holds while the keys it has do the job

    rotated = generate_signing_key()
    keys.append(rotated.public_jwk)
    accepted = await gateway.offer(signed(state, seq=3, now=clock.now, expires_in=timedelta(hours=1), key=rotated))
    assert (accepted.seq, accepted.kid, fetches) == (3, rotated.kid, [2])

    unpublished = generate_signing_key()
    with pytest.raises(BundleRejected) as caught:
        await gateway.offer(signed(state, seq=4, now=clock.now, expires_in=timedelta(hours=1), key=unpublished))
    assert caught.value.reason == Rejection.UNKNOWN_KEY
    assert fetches == [3]  # one fetch to learn the key is truly not published
