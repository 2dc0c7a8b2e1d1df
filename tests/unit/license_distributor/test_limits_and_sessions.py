"""The process raises its open-file limit and says so; a session never sends a bundle before its welcome."""

from __future__ import annotations

import resource
import uuid
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from license_distributor.hub import Session
from license_distributor.limits import raise_open_file_limit
from license_distributor.service import Delivery, GatewaySession


@pytest.fixture
def lowered_soft_limit() -> Iterator[tuple[int, int]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 512:
        pytest.skip("needs a finite hard limit above 512")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        yield 256, hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_open_file_soft_limit_is_raised_to_the_hard_limit_and_logged(lowered_soft_limit: tuple[int, int]) -> None:
    soft, hard = lowered_soft_limit
    with capture_logs() as logs:
        assert raise_open_file_limit() == (soft, hard)
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    assert logs == [
        {
            "event": "license_distributor.open_files.limit",
            "soft": hard,
            "hard": hard,
            "raised": True,
            "was": soft,
            "log_level": "info",
        }
    ]


def test_a_limit_already_at_its_hard_ceiling_is_left_and_still_logged(lowered_soft_limit: tuple[int, int]) -> None:
    _, hard = lowered_soft_limit
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with capture_logs() as logs:
        assert raise_open_file_limit() == (hard, hard)
    assert [entry["raised"] for entry in logs] == [False]


class Socket:
    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def send_json(self, message: dict[str, object]) -> None:
        self.sent.append(message)

    async def close(self, code: int, reason: str) -> None:
        pass


async def test_bundles_meant_for_a_session_not_yet_welcomed_wait_and_only_the_newest_follows_the_welcome() -> None:
    socket = Socket()
    gateway = GatewaySession(gateway_id=uuid.uuid4(), domain_id=uuid.uuid4(), hwid="a1b2c3d4e5f6")
    session = Session(gateway=gateway, seq_held=1, send_json=socket.send_json, close=socket.close, welcomed=False)
    assert not await session.push(Delivery(seq=3, jws="three"))
    assert not await session.push(Delivery(seq=2, jws="two"))
    await session.reboot("rental_expired")  # nothing is said before the welcome
    assert socket.sent == []
    assert await session.welcome(Delivery(seq=2, jws="read at identify"))
    assert socket.sent == [{"type": "welcome"}, {"type": "bundle", "seq": 3, "jws": "three"}]


async def test_a_welcomed_gateway_that_holds_the_current_bundle_gets_only_the_welcome() -> None:
    socket = Socket()
    gateway = GatewaySession(gateway_id=uuid.uuid4(), domain_id=uuid.uuid4(), hwid="a1b2c3d4e5f6")
    session = Session(gateway=gateway, seq_held=4, send_json=socket.send_json, close=socket.close, welcomed=False)
    assert await session.welcome(None)
    assert socket.sent == [{"type": "welcome"}]


def test_a_bundle_signed_here_is_byte_for_byte_the_jws_joserfc_makes_and_the_gateway_accepts() -> None:
    from datetime import UTC, datetime, timedelta

    from gateway_simulator.verifier import verify_bundle
    from license_distributor.domain import BundleContent, Claims, Device, Licence
    from license_distributor.signing import generate_signing_key, sign_bundle, sign_bundle_with_joserfc

    key = generate_signing_key()
    now = datetime.now(UTC)
    content = BundleContent(
        domain_id=uuid.uuid4(),
        devices=(Device(hwid="00aa11bb22cc", product="PHONE-1"),),
        licences=(Licence(type="PORT", count=1),),
        expires_at=now + timedelta(days=3),
    )
    claims = Claims(issuer="urn:test", hwid="a1b2c3d4e5f6", seq=7, issued_at=now, content=content).as_dict()
    jws = sign_bundle(key, claims)
    assert jws == sign_bundle_with_joserfc(key, claims)
    accepted = verify_bundle(jws, jwks={"keys": [key.public_jwk]}, hwid="a1b2c3d4e5f6", highest_seq=6, now=now)
    assert accepted.seq == 7
    assert accepted.kid == key.kid
