"""One simulated gateway: keeps its session with the distributor and enforces its bundle as hardware would.

- Session: challenge -> identify (signed with its key) -> welcome; applies every bundle that verifies,
  persists the new highest seq, then acks; obeys `reboot`. Reconnects with jittered exponential back-off.
- Enforcement: its phones may run only while the current bundle lists them and has not expired. At `exp`
  it reboots by itself (connected or not) and drops the bundle.
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
from gateway_simulator.verifier import AcceptedBundle, BundleRejected, JsonObject, Rejection, verify_bundle

log = structlog.get_logger()
EXPIRY_REASON = "rental_expired"
SIMULATOR_VERSION = "sim-0.1"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class JwksCache:
    """The distributor's JWKS, fetched on first use and again when a bundle names a key it lacks."""

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

    async def get(self, *, refresh: bool = False) -> JsonObject:
        async with self._lock:
            stale = refresh and time.monotonic() - self._fetched_at >= self.min_refresh_s
            if self._jwks is None or stale:
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


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


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
    ) -> None:
        self.state = state
        self.store = store
        self.ws_url = distributor_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/")
        self.ws_url += "/v1/gateways/connect"
        self.jwks = jwks
        self.clock = clock
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.issuer = issuer
        self.handshake_timeout_s = handshake_timeout_s
        self.unknown_retry_s = unknown_retry_s
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

    # ---- enforcement ----------------------------------------------------------------------------------

    def phones_running(self, now: datetime | None = None) -> list[str]:
        """The phones that may run now: listed in a bundle that has not expired."""
        at = now or self.clock()
        if self.current is None:
            return []
        return [p.hwid for p in self.state.phones if self.current.allows(p.hwid, now=at)]

    async def restore(self) -> None:
        """At start-up: re-apply the stored bundle if it still verifies and has not expired."""
        if not self.state.bundle_jws:
            return
        try:
            jwks = await self.jwks.get()
            bundle = verify_bundle(
                self.state.bundle_jws,
                jwks=jwks,
                hwid=self.hwid,
                highest_seq=self.state.highest_seq - 1,
                now=self.clock(),
                issuer=self.issuer,
            )
        except (BundleRejected, httpx.HTTPError, ValueError) as exc:
            log.info("gateway.stored_bundle_dropped", hwid=self.hwid, error=str(exc))
            self._save(self.state.accepted(seq=self.state.highest_seq, jws=None))
            return
        self._apply(bundle)

    def reboot(self, reason: str) -> None:
        """Rented phones stop at once; the highest seq is kept. A live session is dropped (a real reboot).

        A bundle that lets devices run does not survive the reboot; one that lets nothing run (e.g. the
        empty bundle that arrived just before the order) stays, as it would be re-read after a restart.
        """
        keep = self.current if self.current is not None and not self.current.devices else None
        self.current = keep
        self._save(replace(self.state, bundle_jws=keep.jws if keep else None, reboots=self.state.reboots + 1))
        self.stats.reboot_reasons.append(reason)
        if self._expiry is not None and self._expiry is not asyncio.current_task():
            self._expiry.cancel()
        self._expiry = None
        log.info("gateway.rebooted", hwid=self.hwid, reason=reason)
        if self._ws is not None:
            ws = self._ws
            asyncio.get_running_loop().create_task(ws.close(code=1001, reason="rebooting"))

    def _apply(self, bundle: AcceptedBundle) -> None:
        self.current = bundle
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if bundle.expires_at is not None:
            self._expiry = asyncio.get_running_loop().create_task(self._reboot_at(bundle))

    async def _reboot_at(self, bundle: AcceptedBundle) -> None:
        assert bundle.expires_at is not None
        # Wall-clock based: re-check after each sleep, the clock may be moved in tests.
        while self.current is bundle and self.clock() < bundle.expires_at:
            await asyncio.sleep(min(1.0, max(0.01, (bundle.expires_at - self.clock()).total_seconds())))
        if self.current is bundle:
            self.reboot(EXPIRY_REASON)

    def _save(self, state: GatewayState) -> None:
        self.state = state
        self.store.save(state)

    # ---- bundles ------------------------------------------------------------------------------------

    async def offer(self, jws: str) -> AcceptedBundle:
        """Verify and apply a bundle; persist the new highest seq before anything else happens."""
        try:
            bundle = self._verify(jws, await self.jwks.get())
        except BundleRejected as rejected:
            if rejected.reason != Rejection.UNKNOWN_KEY:
                raise
            # A rotation: the distributor published a new key; fetch the JWKS once more.
            bundle = self._verify(jws, await self.jwks.get(refresh=True))
        self._save(self.state.accepted(seq=bundle.seq, jws=jws))
        self._apply(bundle)
        self.stats.accepted.append(bundle.seq)
        self.stats.accepted_at[bundle.seq] = time.monotonic()
        return bundle

    def _verify(self, jws: str, jwks: JsonObject) -> AcceptedBundle:
        return verify_bundle(
            jws, jwks=jwks, hwid=self.hwid, highest_seq=self.state.highest_seq, now=self.clock(), issuer=self.issuer
        )

    # ---- the session --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep a session forever, reconnecting with jittered exponential back-off."""
        await self.restore()
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
                    if not isinstance(message, dict):
                        continue
                    kind = message.get("type")
                    if kind == "welcome":
                        welcomed = True
                        self.connected = True
                        self.stats.connects += 1
                    elif kind == "bundle":
                        await self._on_bundle(ws, message)
                    elif kind == "reboot":
                        self.reboot(str(message.get("reason", "ordered")))
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

    def _identify(self, nonce: str) -> dict[str, object]:
        return {
            "type": "identify",
            "hwid": self.hwid,
            "product": self.state.product,
            "version": SIMULATOR_VERSION,
            "seq": self.state.highest_seq,
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
