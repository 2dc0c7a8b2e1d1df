"""Bundle rules: what may run, the expiry, when a rebuild is a new bundle and when the gateway must reboot."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from license_distributor.domain import (
    CLOCK_SKEW,
    BundleContent,
    Claims,
    ContractRental,
    Device,
    Licence,
    Runway,
    StopReason,
    bundle_content,
    orders_reboot,
    rebuild_changes,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DOMAIN = uuid.uuid4()
PHONE = Device(hwid="a1b2c3d4e5f6", product="PHONE-1")
OTHER_PHONE = Device(hwid="0000000000aa", product="PHONE-1")


def rental(
    *,
    active: bool = True,
    ends_at: datetime | None = None,
    devices: tuple[Device, ...] = (PHONE,),
    licences: tuple[Licence, ...] = (Licence(type="PORT", count=1),),
    depletes_in: timedelta | None = timedelta(seconds=5),
    depleted: bool = False,
    runway_known: bool = True,
) -> ContractRental:
    runway = Runway(depleted=depleted, depletes_at=NOW + depletes_in if depletes_in is not None else None)
    return ContractRental(
        contract_id=uuid.uuid4(),
        active=active,
        ends_at=ends_at,
        devices=devices,
        licences=licences,
        runway=runway if runway_known else None,
    )


def test_a_funded_active_rental_lets_its_devices_run_until_the_run_out() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental()], now=NOW)
    assert content.devices == (PHONE,)
    assert content.licences == (Licence(type="PORT", count=1),)
    assert content.expires_at == NOW + timedelta(seconds=5)
    assert content.stop_reason is None


def test_the_contract_end_caps_the_expiry_when_it_comes_before_the_run_out() -> None:
    ends = NOW + timedelta(seconds=2)
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(ends_at=ends)], now=NOW)
    assert content.expires_at == ends


def test_nothing_burning_means_no_expiry() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=None)], now=NOW)
    assert content.devices == (PHONE,)
    assert content.expires_at is None


def test_a_bundle_carries_no_devices_and_no_expiry_when_nothing_may_run() -> None:
    cases = {
        StopReason.NOTHING_RENTED: [rental(devices=())],
        StopReason.CONTRACT_INACTIVE: [rental(active=False)],
        StopReason.CONTRACT_ENDED: [rental(ends_at=NOW)],
        StopReason.DEPLETED: [rental(depleted=True)],
    }
    for reason, rentals in cases.items():
        content = bundle_content(domain_id=DOMAIN, rentals=rentals, now=NOW)
        assert (content.devices, content.licences, content.expires_at) == ((), (), None), reason
        assert content.stop_reason == reason


def test_a_run_out_that_has_passed_is_a_depletion_even_before_the_wallet_says_so() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=timedelta(0))], now=NOW)
    assert content.devices == ()
    assert content.stop_reason == StopReason.DEPLETED


def test_an_account_whose_runway_is_not_known_yet_has_no_credit() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(runway_known=False)], now=NOW)
    assert content.devices == ()
    assert content.stop_reason == StopReason.DEPLETED


def test_two_contracts_on_one_domain_add_their_devices_and_licences_and_the_earliest_expiry_wins() -> None:
    first = rental(depletes_in=timedelta(hours=1))
    second = rental(devices=(OTHER_PHONE,), depletes_in=timedelta(minutes=5), licences=(Licence("PORT", 2),))
    content = bundle_content(domain_id=DOMAIN, rentals=[first, second], now=NOW)
    assert content.devices == (OTHER_PHONE, PHONE)
    assert content.licences == (Licence(type="PORT", count=3),)
    assert content.expires_at == NOW + timedelta(minutes=5)


def test_weekly_warnings_are_due_only_before_the_run_out_and_after_now() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=timedelta(weeks=3, hours=1))], now=NOW)
    assert content.warnings == tuple(NOW + timedelta(weeks=3, hours=1) - timedelta(weeks=w) for w in (3, 2, 1))


def test_the_same_content_under_the_same_key_is_no_new_bundle_but_another_key_is() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental()], now=NOW)
    later = bundle_content(domain_id=DOMAIN, rentals=[rental()], now=NOW + timedelta(seconds=1))
    stored = content.document(kid="k1")
    # Same expiry instant seen a second later: nothing changed (iat is not content).
    assert not rebuild_changes(stored, later, kid="k1")
    assert rebuild_changes(stored, content, kid="k2")
    assert rebuild_changes(None, content, kid="k1")


def test_a_reboot_is_ordered_only_when_a_running_rental_stops() -> None:
    running = bundle_content(domain_id=DOMAIN, rentals=[rental()], now=NOW).document(kid="k")
    idle = BundleContent(domain_id=DOMAIN, stop_reason=StopReason.NOTHING_RENTED)
    depleted = BundleContent(domain_id=DOMAIN, stop_reason=StopReason.DEPLETED)
    assert orders_reboot(running, depleted)
    assert orders_reboot(running, BundleContent(domain_id=DOMAIN, stop_reason=StopReason.CONTRACT_INACTIVE))
    # The last device deactivated: it simply leaves the bundle.
    assert not orders_reboot(running, idle)
    assert not orders_reboot(idle.document(kid="k"), depleted)
    assert not orders_reboot(None, depleted)


def test_claims_carry_audience_subject_seq_times_and_no_expiry_when_nothing_burns() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=None)], now=NOW)
    claims = Claims(issuer="urn:test", hwid="a1b2c3d4e5f6", seq=7, issued_at=NOW, content=content).as_dict()
    assert claims["aud"] == "a1b2c3d4e5f6"
    assert claims["sub"] == str(DOMAIN)
    assert claims["seq"] == 7
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["nbf"] == int((NOW - CLOCK_SKEW).timestamp())
    assert "exp" not in claims
    assert claims["devices"] == [{"hwid": PHONE.hwid, "product": PHONE.product}]


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=999))
def test_a_gateway_never_gets_an_expiry_at_or_before_now(millis: int, now_millis: int) -> None:
    # Whatever the remaining runway, a bundle that lets devices run carries an `exp` claim (whole seconds,
    # rounded down) strictly after now, at any fraction of the current second: the gateway would refuse
    # anything else as expired on arrival.
    now = NOW + timedelta(milliseconds=now_millis)
    for delta in (timedelta(milliseconds=millis), -timedelta(milliseconds=millis)):
        run_out_in = (now - NOW) + delta  # `rental` counts the run-out from NOW
        content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=run_out_in)], now=now)
        claims = Claims(issuer="urn:test", hwid="a1b2c3d4e5f6", seq=1, issued_at=now, content=content).as_dict()
        if content.devices:
            exp = claims["exp"]
            assert isinstance(exp, int)
            assert exp > now.timestamp()
        else:
            assert "exp" not in claims
        assert bool(content.devices) == (int((now + delta).timestamp()) > now.timestamp())


ISC_PER_SECOND = 86_400_000_000  # micro-iSC per day


def test_a_rental_the_wallet_has_not_priced_yet_expires_when_the_balance_would_run_out_at_the_contracts_rate() -> None:
    # The contract burns 1 iSC/s but the wallet still says nothing burns (its RunwayChanged is on its way).
    lagging = Runway(depleted=False, depletes_at=None, balance=5_000_000, burn_rate_per_day=0, at=NOW)
    rental_ = replace(rental(licences=()), runway=lagging, account_rate_per_day=ISC_PER_SECOND)
    content = bundle_content(domain_id=DOMAIN, rentals=[rental_], now=NOW + timedelta(seconds=1))
    assert content.devices == (PHONE,)
    assert content.expires_at == NOW + timedelta(seconds=6)


def test_the_wallets_run_out_stands_when_the_contracts_burn_no_faster_than_it_knows() -> None:
    depletes_at = NOW + timedelta(seconds=5)
    priced = Runway(
        depleted=False, depletes_at=depletes_at, balance=5_000_000, burn_rate_per_day=ISC_PER_SECOND, at=NOW
    )
    rental_ = replace(rental(licences=()), runway=priced, account_rate_per_day=ISC_PER_SECOND)
    assert bundle_content(domain_id=DOMAIN, rentals=[rental_], now=NOW).expires_at == depletes_at


def test_a_faster_rate_than_the_wallet_knows_brings_the_run_out_forward_and_can_deplete_at_once() -> None:
    slow = Runway(
        depleted=False,
        depletes_at=NOW + timedelta(seconds=10),
        balance=10_000_000,
        burn_rate_per_day=ISC_PER_SECOND,
        at=NOW,
    )
    faster = ContractRental(
        contract_id=uuid.uuid4(),
        active=True,
        ends_at=None,
        devices=(PHONE,),
        licences=(),
        runway=slow,
        account_rate_per_day=2 * ISC_PER_SECOND,
    )
    # 2 s later 8 iSC are left, burning at 2 iSC/s: 4 s more, earlier than the wallet's 10 s.
    assert bundle_content(domain_id=DOMAIN, rentals=[faster], now=NOW + timedelta(seconds=2)).expires_at == (
        NOW + timedelta(seconds=6)
    )
    spent = bundle_content(domain_id=DOMAIN, rentals=[faster], now=NOW + timedelta(seconds=10))
    assert spent.devices == ()
    assert spent.stop_reason == StopReason.DEPLETED
