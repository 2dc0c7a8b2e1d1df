"""One simulated gateway: keeps its session with the distributor and enforces its bundle as hardware would.

- Session: challenge -> identify (signed with its key; `seq` the bundle it enforces, 0 if none, and `floor`
  the highest seq it ever accepted) -> welcome; applies every bundle that verifies, persists the new highest
  seq, then acks; obeys `reboot`. Reconnects with jittered exponential back-off.
- Trust: it verifies bundles only with the keys it trusts, the distributor's JWKS as it last fetched it, kept
  on disk beside its bundle. It fetches them again on every bundle and every `key_refresh_s`; a key no
  longer published is no longer trusted: a bundle signed by it is refused, and a held one is dropped.
- Enforcement: its phones may run only while the current bundle lists them and has not expired (`exp`, or
  the end of its `lease` if earlier). At that instant it reboots by itself (connected or not) and drops the
  bundle. A restart re-applies the stored bundle, verified with the stored keys: no network needed.
- Warnings: each warning of the bundle is raised at its instant, from the bundle alone, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from gateway_simulator.identity import GatewayState, StateStore
from gateway_simulator.verifier import (
    AcceptedBundle,
    BundleRejected,
    JsonObject,
    Rejection,
    signing_kid,
    verify_bundle,
)

log = structlog.get_logger()
EXPIRY_REASON = "rental_expired"
SIMULATOR_VERSION = "sim-0.1"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class JwksCache:
    """The distributor's JWKS, shared by the gateways of one process: fetched on first use, and again when asked
    to refresh, at most every `min_refresh_s` (the gateways of a fleet refresh together, one fetch serves all)."""

    def __init__(
        self, *, url: str, client: httpx.AsyncClient, min_refresh_s: float = 2.0, keep_at: Path | None = None
    ) -> None:
        self.url = url
        self.client = client
        self.min_refresh_s = min_refresh_s
        # Where the keys last fetched are kept beside the bundles (so `status` can verify them offline).
        self.keep_at = keep_at
        self._jwks: JsonObject | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, *, refresh: bool = False, needing: str | None = None) -> JsonObject:
        """The keys; fetched again when asked to refresh and the last fetch is `min_refresh_s` old, or at once
        when they lack the key `needing` (a bundle's kid) and were fetched before this call began.

        Without the second rule a bundle signed by a key published a moment ago (a rotation right after a
        change) would be refused by every gateway that fetched within `min_refresh_s`, and nothing would ever
        send it again. Callers waiting on the lock while another fetches are served by that fetch.
        """
        asked_at = time.monotonic()
        async with self._lock:
            stale = refresh and asked_at - self._fetched_at >= self.min_refresh_s
            lacking = (
                needing is not None
                and self._jwks is not None
                and needing not in published_kids(self._jwks)
                and self._fetched_at < asked_at
            )
            if self._jwks is None or stale or lacking:
                response = await self.client.get(self.url)
                response.raise_for_status()
                data = response.json()
                if not isinstance(data, dict):
                    raise ValueError("the JWKS is not a JSON object")
                self._jwks = data
                self._fetched_at = time.monotonic()
                if self.keep_at is not None:
                    _write_atomically(self.keep_at, json.dumps(data))
            return self._jwks

    def kept(self) -> JsonObject | None:
        """The keys last fetched, from `keep_at` (for a gateway whose own state predates kept keys)."""
        if self.keep_at is None or not self.keep_at.is_file():
            return None
        try:
            data = json.loads(self.keep_at.read_text())
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def published_kids(jwks: JsonObject) -> frozenset[str]:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return frozenset()
    return frozenset(str(k["kid"]) for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


# How often a gateway fetches the keys it trusts again, connected or not (besides on every bundle).
KEY_REFRESH_S = 60.0
# A gateway that provisioning does not know yet retries at most this often, so one registered meanwhile (in the
# web app, or by `register`) connects within seconds, with no restart.
UNKNOWN_GATEWAY_RETRY_S = 3.0


@dataclass
class GatewayStats:
    accepted: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    reboot_reasons: list[str] = field(default_factory=list)
    connects: int = 0
    refusals: list[str] = field(default_factory=list)
    accepted_at: dict[int, float] = field(default_factory=dict)
    # Warnings raised on the phones, in order; bundles dropped because their key left the JWKS (their kid).
    warnings: list[RaisedWarning] = field(default_factory=list)
    distrusted: list[str] = field(default_factory=list)
    # Every stretch its phones ran, under which bundle, and every bundle accepted (the enforcement history a
    # fault-run checker reads).
    runs: list[PhoneRun] = field(default_factory=list)
    bundles: list[AcceptedRecord] = field(default_factory=list)


@dataclass(frozen=True)
class AcceptedRecord:
    """A bundle accepted at `accepted_at` (the gateway's clock): its end (`exp`, or the lease's if earlier)."""

    seq: int
    expires_at: datetime | None
    lists_devices: bool
    accepted_at: datetime


@dataclass
class PhoneRun:
    """The phones ran under bundle `seq` from `start` until `end` (None: still running), on the gateway's clock."""

    seq: int
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class RaisedWarning:
    """A warning shown on the phones: signed for `at`, raised at `raised_at` (the gateway's clock)."""

    seq: int
    at: datetime
    raised_at: datetime
    time_left_s: int

    def as_json(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "raised_at": self.raised_at.isoformat(), "time_left_s": self.time_left_s}


# How many raised warning instants a gateway keeps beyond those of the bundle it enforces.
RAISED_MARKS_KEPT = 64


def kept_marks(raised: set[int], bundle: AcceptedBundle) -> tuple[int, ...]:
    """The raised instants to keep: every one of the enforced bundle's ladder, and the latest others.

    A ladder's instants move whenever the run-out does, so the marks of past bundles pile up; evicting by age alone
    once dropped a passed rung of the current ladder, which was then raised again at every check (every 10 ms,
    millions of times in a long cluster run).
    """
    ladder = {int(w.at.timestamp()) for w in bundle.warnings}
    others = sorted(raised - ladder)[-RAISED_MARKS_KEPT:]
    return tuple(sorted((raised & ladder) | set(others)))


class SimulatedGateway:
    def __init__(
        self,
        *,
        state: GatewayState,
        store: StateStore,
        distributor_url: str,
        jwks: JwksCache,
        clock: Clock = utc_now,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        issuer: str | None = None,
        handshake_timeout_s: float = 10.0,
        unknown_retry_s: float = UNKNOWN_GATEWAY_RETRY_S,
        key_refresh_s: float = KEY_REFRESH_S,
        follow_test_clock: bool = False,
    ) -> None:
        self.state = state
        self.store = store
        self.ws_url = distributor_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/")
        self.ws_url += "/v1/gateways/connect"
        self.jwks = jwks
        # Told to follow test clocks (a sandbox gateway): it accepts bundles signed on a test clock's time and runs
        # on the time the distributor tells it (the welcome's and each `clock` message's `test_clock_time`), so
        # warnings, expiry and reboots happen at simulated instants. A production gateway refuses such bundles.
        self.follow_test_clock = follow_test_clock
        self.test_clock_time: datetime | None = None
        self._own_clock = clock
        self.clock: Clock = self._followed_time if follow_test_clock else clock
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.issuer = issuer
        self.handshake_timeout_s = handshake_timeout_s
        self.unknown_retry_s = unknown_retry_s
        self.key_refresh_s = key_refresh_s
        self.current: AcceptedBundle | None = None
        self.connected = False
        self.stats = GatewayStats()
        self._ws: ClientConnection | None = None
        self._expiry: asyncio.Task[None] | None = None
        # Seconds a distributor that refused the handshake as busy asked us to wait, until the next attempt.
        self._retry_after_s: float | None = None
        # Why the distributor refused the last session's handshake, if it did.
        self._refused_as: str | None = None

    @property
    def hwid(self) -> str:
        return self.state.hwid

    def _followed_time(self) -> datetime:
        """The test clock's time as last told, or the gateway's own clock before it is told any."""
        return self.test_clock_time if self.test_clock_time is not None else self._own_clock()

    def on_test_clock(self, told: object) -> None:
        """The distributor told the clock's time: enforced at once, as if that much time had passed (warnings due
        are raised, a bundle past its end reboots the phones). Never backwards; ignored unless following."""
        if not self.follow_test_clock or not isinstance(told, str):
            return
        try:
            at = datetime.fromisoformat(told)
        except ValueError:
            return
        if at.tzinfo is None or (self.test_clock_time is not None and at <= self.test_clock_time):
            return
        self.test_clock_time = at
        if self.current is not None:
            self._raise_warnings_due(self.current, now=at)
            self.phones_running()

    # ---- enforcement ----------------------------------------------------------------------------------

    def phones_running(self, now: datetime | None = None) -> list[str]:
        """The phones that may run now: listed in a bundle that has not expired. Asked at or after the bundle's end
        (now, not a given instant), the gateway has rebooted: whoever looks then sees it done, not about to be."""
        at = now or self.clock()
        if self.current is None:
            return []
        ends = self.current.expires_at
        if now is None and ends is not None and at >= ends:
            self.reboot(EXPIRY_REASON)
            return []
        return [p.hwid for p in self.state.phones if self.current.allows(p.hwid, now=at)]

    @property
    def held_seq(self) -> int:
        """The seq of the bundle it enforces (0: none, or one past its end), as `identify` reports it."""
        held = self.current
        if held is None or (held.expires_at is not None and self.clock() >= held.expires_at):
            return 0
        return held.seq

    def warning_shown(self, now: datetime | None = None) -> RaisedWarning | None:
        """The latest warning raised for the current bundle, as the phones show it now."""
        if self.current is None:
            return None
        at = now or self.clock()
        shown = [w for w in self.stats.warnings if w.seq == self.current.seq and w.at <= at]
        return shown[-1] if shown else None

    async def restore(self) -> None:
        """At start-up: re-apply the stored bundle if it verifies with the stored keys and has not expired.

        No network: the keys it trusts are on disk beside the bundle. Only a state kept before the keys were
        (no `trusted_keys`) needs them fetched; unreachable, the bundle stays on disk, unenforced, until the
        distributor sends the current one.
        """
        if not self.state.bundle_jws:
            return
        keys = self.state.trusted_keys or self.jwks.kept()
        if keys is None:
            try:
                keys = await self.jwks.get()
            except (httpx.HTTPError, ValueError) as exc:
                log.info("gateway.stored_bundle_unverifiable", hwid=self.hwid, error=repr(exc))
                return
        if self.state.trusted_keys is None:
            self._save(replace(self.state, trusted_keys=dict(keys)))
        try:
            bundle = verify_bundle(
                self.state.bundle_jws,
                jwks=keys,
                hwid=self.hwid,
                highest_seq=self.state.highest_seq - 1,
                now=self.clock(),
                issuer=self.issuer,
                accept_simulated=self.follow_test_clock,
            )
        except BundleRejected as exc:
            log.info("gateway.stored_bundle_dropped", hwid=self.hwid, error=str(exc))
            self._save(self.state.accepted(seq=self.state.highest_seq, jws=None))
            return
        self._apply(bundle)

    # ---- the keys it trusts -------------------------------------------------------------------------

    async def refresh_keys(self) -> bool:
        """Fetch the JWKS again and trust exactly what it publishes; False if the distributor is unreachable."""
        try:
            keys = await self.jwks.get(refresh=True)
        except (httpx.HTTPError, ValueError) as exc:
            log.debug("gateway.jwks_unavailable", hwid=self.hwid, error=repr(exc))
            return False
        self._trust(keys, reconnect=True)
        return True

    async def _keys_for_a_bundle(self, jws: str) -> JsonObject:
        """Fresh keys for a bundle just received; the stored ones when the JWKS cannot be fetched just now."""
        try:
            keys = await self.jwks.get(refresh=True, needing=signing_kid(jws))
        except (httpx.HTTPError, ValueError):
            if self.state.trusted_keys is None:
                raise
            return self.state.trusted_keys
        self._trust(keys, reconnect=False)
        return keys

    def _trust(self, keys: JsonObject, *, reconnect: bool) -> None:
        """From now on only `keys`. A held bundle signed by a key no longer published is dropped (its phones stop);
        connected, the session is dropped too, so the gateway identifies again holding nothing and is sent the
        current bundle, re-signed."""
        if keys != self.state.trusted_keys:
            self._save(replace(self.state, trusted_keys=dict(keys)))
        held = self.current
        if held is None or held.kid in published_kids(keys):
            return
        log.warning("gateway.bundle_key_unpublished", hwid=self.hwid, seq=held.seq, kid=held.kid)
        self.stats.distrusted.append(held.kid)
        self._record_run(None)
        self.current = None
        self._cancel_enforcement()
        self._save(replace(self.state, bundle_jws=None))
        if reconnect and self._ws is not None:
            ws = self._ws
            asyncio.get_running_loop().create_task(ws.close(code=1000, reason="key_unpublished"))

    async def _refresh_keys_forever(self) -> None:
        while True:
            await asyncio.sleep(self.key_refresh_s)
            await self.refresh_keys()

    def reboot(self, reason: str) -> None:
        """Rented phones stop at once; the highest seq is kept. A live session is dropped (a real reboot).

        A bundle that lets devices run does not survive the reboot; one that lets nothing run (e.g. the
        empty bundle that arrived just before the order) stays, as it would be re-read after a restart.
        """
        keep = self.current if self.current is not None and not self.current.devices else None
        self._record_run(keep)
        self.current = keep
        self._save(replace(self.state, bundle_jws=keep.jws if keep else None, reboots=self.state.reboots + 1))
        self.stats.reboot_reasons.append(reason)
        self._cancel_enforcement()
        log.info("gateway.rebooted", hwid=self.hwid, reason=reason)
        if self._ws is not None:
            ws = self._ws
            asyncio.get_running_loop().create_task(ws.close(code=1001, reason="rebooting"))

    def shut_down(self) -> None:
        """Power off: enforcement stops with the process; what is on disk stays as it is (a restart restores it)."""
        self._cancel_enforcement()

    def _record_run(self, bundle: AcceptedBundle | None) -> None:
        """The phones' stretch under the bundle enforced so far ends (at its `exp` at the latest); one starts under
        `bundle` if it lets phones run now."""
        now = self.clock()
        runs = self.stats.runs
        if runs and runs[-1].end is None:
            ended = self.current.expires_at if self.current is not None else None
            runs[-1].end = min(now, ended) if ended is not None else now
        if bundle is not None and bundle.devices and (bundle.expires_at is None or now < bundle.expires_at):
            runs.append(PhoneRun(seq=bundle.seq, start=now))

    def _cancel_enforcement(self) -> None:
        if self._expiry is not None and self._expiry is not asyncio.current_task():
            self._expiry.cancel()
        self._expiry = None

    def _apply(self, bundle: AcceptedBundle) -> None:
        self._record_run(bundle)
        self.current = bundle
        self._cancel_enforcement()
        if bundle.expires_at is not None or bundle.warnings:
            self._expiry = asyncio.get_running_loop().create_task(self._enforce(bundle))

    async def _enforce(self, bundle: AcceptedBundle) -> None:
        """Each warning at its instant, then the reboot at the bundle's end: from the bundle alone, connected or not.

        Wall-clock based: re-checked after each sleep (at most a second), the clock may be moved in tests.
        """
        while self.current is bundle:
            now = self.clock()
            self._raise_warnings_due(bundle, now=now)
            if bundle.expires_at is not None and now >= bundle.expires_at:
                self.reboot(EXPIRY_REASON)
                return
            raised = set(self.state.warnings_raised)
            upcoming = [w.at for w in bundle.warnings if int(w.at.timestamp()) not in raised]
            if bundle.expires_at is not None:
                upcoming.append(bundle.expires_at)
            if not upcoming:
                return
            await asyncio.sleep(min(1.0, max(0.01, (min(upcoming) - now).total_seconds())))

    def _raise_warnings_due(self, bundle: AcceptedBundle, *, now: datetime) -> None:
        """The warnings whose instant has come and that were not raised yet (a passed one at once), each once."""
        raised = set(self.state.warnings_raised)
        due = [w for w in bundle.warnings if w.at <= now and int(w.at.timestamp()) not in raised]
        if not due:
            return
        for warning in due:
            self.stats.warnings.append(
                RaisedWarning(seq=bundle.seq, at=warning.at, raised_at=now, time_left_s=warning.time_left_s)
            )
            log.info("gateway.warning_raised", hwid=self.hwid, at=warning.at.isoformat(), left_s=warning.time_left_s)
        self._save(
            replace(self.state, warnings_raised=kept_marks(raised | {int(w.at.timestamp()) for w in due}, bundle))
        )

    def _save(self, state: GatewayState) -> None:
        self.state = state
        self.store.save(state)

    # ---- bundles ------------------------------------------------------------------------------------

    async def offer(self, jws: str) -> AcceptedBundle:
        """Verify and apply a bundle with the keys published now; persist the new highest seq before anything else.

        The keys are fetched again for every bundle (a key no longer published signs nothing it accepts); when
        the JWKS cannot be fetched just then, the keys it trusts already decide.
        """
        bundle = self._verify(jws, await self._keys_for_a_bundle(jws))
        self._save(self.state.accepted(seq=bundle.seq, jws=jws))
        if bundle.test_clock_id is not None:
            # Signed at the clock's time: the clock got at least that far.
            self.on_test_clock(bundle.issued_at.isoformat())
        self._apply(bundle)
        self.stats.accepted.append(bundle.seq)
        self.stats.accepted_at[bundle.seq] = time.monotonic()
        self.stats.bundles.append(
            AcceptedRecord(
                seq=bundle.seq,
                expires_at=bundle.expires_at,
                lists_devices=bool(bundle.devices),
                accepted_at=self.clock(),
            )
        )
        return bundle

    def _verify(self, jws: str, jwks: JsonObject) -> AcceptedBundle:
        return verify_bundle(
            jws,
            jwks=jwks,
            hwid=self.hwid,
            highest_seq=self.state.highest_seq,
            now=self.clock(),
            issuer=self.issuer,
            accept_simulated=self.follow_test_clock,
        )

    # ---- the session --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep a session forever, reconnecting with jittered exponential back-off; refresh the keys meanwhile."""
        await self.restore()
        refresher = asyncio.get_running_loop().create_task(self._refresh_keys_forever())
        try:
            await self._keep_a_session()
        finally:
            refresher.cancel()

    async def _keep_a_session(self) -> None:
        failures = 0
        while True:
            welcomed = await self.session_once()
            told_to_wait, self._retry_after_s = self._retry_after_s, None
            if told_to_wait is not None:
                # A busy distributor said when to come back (503 with Retry-After): then, jittered around it so
                # the herd spreads, and no growing back-off, since nothing failed on our side.
                await asyncio.sleep(random.uniform(told_to_wait / 2, told_to_wait * 1.5))
                continue
            failures = 0 if welcomed else failures + 1
            delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(failures, 10))
            if not welcomed and self._refused_as == "unknown_gateway":
                # Not registered yet: nothing is overloaded, someone is about to register us; ask again soon.
                delay = min(delay, self.unknown_retry_s)
            # Full jitter in the upper half: thousands of gateways never come back in lock-step.
            await asyncio.sleep(random.uniform(delay / 2, delay))

    async def session_once(self) -> bool:
        """One connection until it closes; True if the distributor welcomed us."""
        welcomed = False
        self._refused_as = None
        try:
            async with connect(
                self.ws_url,
                open_timeout=self.handshake_timeout_s,
                ping_interval=20,
                ping_timeout=20,
                max_size=2**20,
                # A gateway dials its distributor directly: no proxy lookup in the environment on every connect
                # (a tenth of the CPU of thousands of simulated gateways reconnecting at once).
                proxy=None,
            ) as ws:
                self._ws = ws
                challenge = json.loads(await asyncio.wait_for(ws.recv(), timeout=self.handshake_timeout_s))
                await ws.send(json.dumps(self._identify(str(challenge.get("nonce", "")))))
                async for raw in ws:
                    message = json.loads(raw)
                    if isinstance(message, dict):
                        welcomed = await self._on_message(ws, message) or welcomed
        except ConnectionClosed as closed:
            reason = closed.rcvd.reason if closed.rcvd is not None else ""
            if reason and not welcomed:
                self.stats.refusals.append(reason)
                self._refused_as = reason
                log.warning("gateway.refused", hwid=self.hwid, reason=reason)
        except InvalidStatus as refused:
            self._retry_after_s = _retry_after_s(refused)
            log.info("gateway.connect_deferred", hwid=self.hwid, status=refused.response.status_code)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ValueError) as exc:
            log.info("gateway.connect_failed", hwid=self.hwid, error=repr(exc))
        finally:
            self._ws = None
            self.connected = False
        return welcomed

    async def _on_message(self, ws: ClientConnection, message: dict[str, object]) -> bool:
        """One message of the distributor's; True if it was the welcome."""
        kind = message.get("type")
        if kind == "welcome":
            self.connected = True
            self.stats.connects += 1
            if "test_clock_time" in message:
                self.on_test_clock(message["test_clock_time"])
            return True
        if kind == "clock":
            self.on_test_clock(message.get("test_clock_time"))
        elif kind == "bundle":
            await self._on_bundle(ws, message)
        elif kind == "reboot":
            self.reboot(str(message.get("reason", "ordered")))
        return False

    def _identify(self, nonce: str) -> dict[str, object]:
        return {
            "type": "identify",
            "hwid": self.hwid,
            "product": self.state.product,
            "version": SIMULATOR_VERSION,
            # The bundle it holds and enforces, and the highest it ever accepted (it refuses any not above it).
            "seq": self.held_seq,
            "floor": self.state.highest_seq,
            "signature": self.state.sign_challenge(nonce),
        }

    async def _on_bundle(self, ws: ClientConnection, message: dict[str, object]) -> None:
        jws = message.get("jws")
        if not isinstance(jws, str):
            return
        try:
            bundle = await self.offer(jws)
        except BundleRejected as rejected:
            self.stats.rejected.append(rejected.reason)
            log.warning("gateway.bundle_rejected", hwid=self.hwid, reason=rejected.reason, detail=rejected.detail)
            # Told to the distributor (docs/design.md section 6), which reports a licence delivery failure.
            seq = message.get("seq")
            if isinstance(seq, int) and seq > 0:
                await ws.send(json.dumps({"type": "reject", "seq": seq, "reason": rejected.reason.value}))
            return
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("gateway.jwks_unavailable", hwid=self.hwid, error=repr(exc))
            return
        await ws.send(json.dumps({"type": "ack", "seq": bundle.seq}))

    async def disconnect(self) -> None:
        """Drop the current session (the run loop reconnects after its back-off)."""
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed, OSError):
                await self._ws.close()


# The longest wait a Retry-After may ask for; a larger or unreadable one falls back to the usual back-off.
_LONGEST_RETRY_AFTER_S = 300.0


def _retry_after_s(refused: InvalidStatus) -> float | None:
    """Seconds to wait that a 503 asked for (Retry-After in seconds), or None."""
    if refused.response.status_code != 503:
        return None
    value = refused.response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds <= _LONGEST_RETRY_AFTER_S else None
