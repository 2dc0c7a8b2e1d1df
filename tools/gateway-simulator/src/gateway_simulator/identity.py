"""A simulated gateway's identity (hardware id, Ed25519 key, phones) and what it must keep across restarts.

The highest accepted `seq` (its floor) is written to disk (atomically, fsynced) before the bundle is
acknowledged, so a restarted gateway can never be made to accept an older bundle again. Beside it: the bundle
it enforces, the keys it trusts (the JWKS it last fetched), so that after a restart it enforces its stored
bundle until `exp` whether or not the distributor is reachable, and the warnings it already raised.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

AUTH_PREFIX = "rental-gateway-auth:"
_HWID_FILE = re.compile(r"[0-9a-f]{12}")
GATEWAY_PRODUCT = "GW-SIM-1"
PHONE_PRODUCT = "PHONE-SIM-1"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def new_hwid() -> str:
    """Hardware ids are 12 hex digits."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Phone:
    hwid: str
    product: str = PHONE_PRODUCT


@dataclass(frozen=True)
class GatewayState:
    hwid: str
    product: str
    private_key: str  # base64url of the raw 32-byte Ed25519 seed
    phones: tuple[Phone, ...]
    highest_seq: int = 0
    # The last bundle accepted (re-verified at start-up; dropped when it expires).
    bundle_jws: str | None = None
    reboots: int = field(default=0)
    # The distributor's JWKS as last fetched: the only keys a bundle may be signed with (None: never fetched).
    trusted_keys: dict[str, object] | None = None
    # The instants (epoch seconds) of the warnings already raised on the phones, so a restart does not repeat them.
    warnings_raised: tuple[int, ...] = ()

    @classmethod
    def generate(
        cls, *, phones: int, product: str = GATEWAY_PRODUCT, phone_product: str = PHONE_PRODUCT
    ) -> GatewayState:
        seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(
            hwid=new_hwid(),
            product=product,
            private_key=b64url(seed),
            phones=tuple(Phone(hwid=new_hwid(), product=phone_product) for _ in range(phones)),
        )

    @property
    def key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(_b64url_decode(self.private_key))

    @property
    def public_key(self) -> str:
        """As provisioning wants it: base64url of the raw 32-byte public key."""
        return b64url(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign_challenge(self, nonce: str) -> str:
        return b64url(self.key.sign(f"{AUTH_PREFIX}{nonce}:{self.hwid}".encode()))

    def accepted(self, *, seq: int, jws: str | None) -> GatewayState:
        return replace(self, highest_seq=max(self.highest_seq, seq), bundle_jws=jws)

    def to_json(self) -> dict[str, object]:
        return {
            "hwid": self.hwid,
            "product": self.product,
            "private_key": self.private_key,
            "phones": [{"hwid": p.hwid, "product": p.product} for p in self.phones],
            "highest_seq": self.highest_seq,
            "bundle_jws": self.bundle_jws,
            "reboots": self.reboots,
            "trusted_keys": self.trusted_keys,
            "warnings_raised": list(self.warnings_raised),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> GatewayState:
        phones = data.get("phones")
        assert isinstance(phones, list)
        return cls(
            hwid=str(data["hwid"]),
            product=str(data["product"]),
            private_key=str(data["private_key"]),
            phones=tuple(Phone(hwid=str(p["hwid"]), product=str(p["product"])) for p in phones),
            highest_seq=int(str(data.get("highest_seq", 0))),
            bundle_jws=str(data["bundle_jws"]) if data.get("bundle_jws") else None,
            reboots=int(str(data.get("reboots", 0))),
            trusted_keys=_json_object(data.get("trusted_keys")),
            warnings_raised=tuple(int(str(w)) for w in _list(data.get("warnings_raised"))),
        )


def _json_object(value: object) -> dict[str, object] | None:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else None


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


class StateStore(Protocol):
    def load(self, hwid: str) -> GatewayState | None: ...

    def save(self, state: GatewayState) -> None: ...


class FileStore:
    """One JSON file per gateway under `directory`, replaced atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, hwid: str) -> Path:
        return self.directory / f"{hwid}.json"

    def load(self, hwid: str) -> GatewayState | None:
        path = self.path(hwid)
        if not path.exists():
            return None
        return GatewayState.from_json(json.loads(path.read_text()))

    def load_all(self) -> list[GatewayState]:
        # Only `<hwid>.json`: the directory also keeps the distributor's keys (jwks.json).
        paths = sorted(p for p in self.directory.glob("*.json") if _HWID_FILE.fullmatch(p.stem))
        return [GatewayState.from_json(json.loads(p.read_text())) for p in paths]

    def save(self, state: GatewayState) -> None:
        path = self.path(state.hwid)
        tmp = path.with_suffix(".json.tmp")
        with tmp.open("w") as handle:
            json.dump(state.to_json(), handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)


class MemoryStore:
    """For benchmarks and tests that restart gateways within one process."""

    def __init__(self) -> None:
        self.states: dict[str, GatewayState] = {}

    def load(self, hwid: str) -> GatewayState | None:
        return self.states.get(hwid)

    def save(self, state: GatewayState) -> None:
        self.states[state.hwid] = state
