"""Bundle rules: what may run, the expiry, when a rebuild is a new bundle and when the gateway must reboot."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from license_distributor.domain import (
    CLOCK_SKEW,
    DEFAULT_LEASE,
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
    renew_before,
)
from shared.burn import Burn

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
    warnings_at: tuple[datetime, ...] = (),
) -> ContractRental:
    runway = Runway(
        depleted=depleted, depletes_at=NOW + depletes_in if depletes_in is not None else None, warnings_at=warnings_at
    )
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
        StopReason.NOTHING_RENTED: [rental(devices=(), licences=())],
        StopReason.CONTRACT_INACTIVE: [rental(active=False)],
        StopReason.CONTRACT_ENDED: [rental(ends_at=NOW)],
        StopReason.DEPLETED: [rental(depleted=True)],
        # Software licences alone stop like devices do.
        StopReason.CONTRACT_INACTIVE: [rental(active=False, devices=(), licences=(Licence(type="UC", count=2),))],
    }
    for reason, rentals in cases.items():
        content = bundle_content(domain_id=DOMAIN, rentals=rentals, now=NOW)
        assert (content.devices, content.licences, content.expires_at) == ((), (), None), reason
        assert content.stop_reason == reason


def test_rented_software_licences_run_without_devices_until_the_run_out() -> None:
    content = bundle_content(
        domain_id=DOMAIN, rentals=[rental(devices=(), licences=(Licence(type="UC", count=2),))], now=NOW
    )
    assert content.devices == ()
    assert content.licences == (Licence(type="UC", count=2),)
    assert content.expires_at == NOW + timedelta(seconds=5)
    assert content.running


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


def test_the_warnings_are_the_wallets_ladder_before_the_run_out_in_whole_seconds_passed_ones_included() -> None:
    run_out = timedelta(weeks=3, hours=1)
    ladder = (
        NOW - timedelta(hours=1),  # passed: kept, the content must not change with time alone
        NOW + timedelta(days=1, microseconds=250_000),
        NOW + timedelta(weeks=2),
        NOW + run_out + timedelta(seconds=1),  # after the run-out: nothing left to warn of
    )
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=run_out, warnings_at=ladder)], now=NOW)
    assert content.warnings == (NOW - timedelta(hours=1), NOW + timedelta(days=1), NOW + timedelta(weeks=2))
    claims = Claims(issuer="urn:test", hwid="a1b2c3d4e5f6", seq=1, issued_at=NOW, content=content).as_dict()
    assert claims["warnings"] == [
        {"at": int(at.timestamp()), "time_left_s": int((NOW + run_out - at).total_seconds())} for at in content.warnings
    ]
    # No ladder announced: no warnings (there is no fixed ladder of our own any more).
    assert bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=run_out)], now=NOW).warnings == ()


def test_a_changed_ladder_is_a_new_bundle() -> None:
    before = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=timedelta(days=9))], now=NOW)
    after = bundle_content(
        domain_id=DOMAIN,
        rentals=[rental(depletes_in=timedelta(days=9), warnings_at=(NOW + timedelta(days=2),))],
        now=NOW,
    )
    assert rebuild_changes(before.document(kid="k"), after, kid="k", now=NOW)


@given(
    run_out_s=st.integers(min_value=1, max_value=60 * 86_400),
    ends_s=st.one_of(st.none(), st.integers(min_value=1, max_value=60 * 86_400)),
    lease_s=st.integers(min_value=1, max_value=30 * 86_400),
)
def test_exp_is_the_earliest_of_the_run_out_the_contract_end_and_the_lease(
    run_out_s: int, ends_s: int | None, lease_s: int
) -> None:
    ends_at = NOW + timedelta(seconds=ends_s) if ends_s is not None else None
    lease = timedelta(seconds=lease_s)
    content = bundle_content(
        domain_id=DOMAIN,
        rentals=[rental(depletes_in=timedelta(seconds=run_out_s), ends_at=ends_at)],
        now=NOW,
        lease=lease,
    )
    claims = Claims(issuer="urn:test", hwid="a1b2c3d4e5f6", seq=1, issued_at=NOW, content=content).as_dict()
    earliest = min(t for t in (NOW + timedelta(seconds=run_out_s), ends_at, NOW + lease) if t is not None)
    assert claims["exp"] == int(earliest.timestamp())
    assert claims["lease"] == int((NOW + lease).timestamp())
    # The paid expiry stays what the wallet and the contract say: the lease only bounds the bundle.
    assert content.expires_at == min(t for t in (NOW + timedelta(seconds=run_out_s), ends_at) if t is not None)


def test_a_bundle_that_lets_nothing_run_has_no_lease() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(active=False)], now=NOW)
    claims = Claims(issuer="urn:test", hwid="a1b2c3d4e5f6", seq=1, issued_at=NOW, content=content).as_dict()
    assert "lease" not in claims
    assert "exp" not in claims


def test_a_lease_is_renewed_once_half_of_it_is_left_and_not_before() -> None:
    lease = timedelta(hours=2)
    assert renew_before(lease) == timedelta(hours=1)
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=None)], now=NOW, lease=lease)
    stored = content.document(kid="k")
    assert stored["lease"] == int((NOW + lease).timestamp())

    def later(by: timedelta) -> bool:
        again = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=None)], now=NOW + by, lease=lease)
        return rebuild_changes(stored, again, kid="k", now=NOW + by, lease=lease)

    # The lease end moves with every rebuild but is not compared: no re-signing at every change.
    assert not later(timedelta(minutes=59, seconds=59))
    assert later(timedelta(hours=1))
    assert later(timedelta(hours=3))  # past its end (an offline gateway's): renewed when it comes back


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


def test_claims_carry_audience_subject_seq_times_and_the_lease_as_expiry_when_nothing_burns() -> None:
    content = bundle_content(domain_id=DOMAIN, rentals=[rental(depletes_in=None)], now=NOW)
    claims = Claims(issuer="urn:test", hwid="a1b2c3d4e5f6", seq=7, issued_at=NOW, content=content).as_dict()
    assert claims["aud"] == "a1b2c3d4e5f6"
    assert claims["sub"] == str(DOMAIN)
    assert claims["seq"] == 7
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["nbf"] == int((NOW - CLOCK_SKEW).timestamp())
    # Nothing burns, no end: only the lease bounds it.
    assert claims["exp"] == claims["lease"] == int((NOW + DEFAULT_LEASE).timestamp())
    assert content.expires_at is None
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


def test_a_faster_rate_than_the_wallet_knows_moves_the_warning_ladder_with_the_run_out() -> None:
    # The wallet's ladder for its run-out at 100 s: warnings 60 s and 30 s before it.
    slow = Runway(
        depleted=False,
        depletes_at=NOW + timedelta(seconds=100),
        balance=100_000_000,
        burn_rate_per_day=ISC_PER_SECOND,
        at=NOW,
        warnings_at=(NOW + timedelta(seconds=40), NOW + timedelta(seconds=70)),
    )
    faster = replace(rental(licences=()), runway=slow, account_rate_per_day=2 * ISC_PER_SECOND)
    # 20 s later 80 iSC are left at 2 iSC/s: the run-out at 60 s, so the same thresholds warn at 0 s and 30 s.
    content = bundle_content(domain_id=DOMAIN, rentals=[faster], now=NOW + timedelta(seconds=20))
    assert content.expires_at == NOW + timedelta(seconds=60)
    assert content.warnings == (NOW, NOW + timedelta(seconds=30))


@given(
    balance=st.integers(min_value=1_000_000, max_value=10**12),
    old_rate=st.integers(min_value=1, max_value=10**9),
    faster_by=st.integers(min_value=1, max_value=10**9),
    elapsed_us=st.integers(min_value=0, max_value=10**9),
    thresholds_s=st.lists(st.integers(min_value=1, max_value=8 * 7 * 86_400), min_size=1, max_size=5, unique=True),
)
def test_the_bundle_projected_from_a_rental_change_is_the_one_the_wallet_s_runway_then_brings(
    balance: int, old_rate: int, faster_by: int, elapsed_us: int, thresholds_s: list[int]
) -> None:
    """A rental change reaches the distributor before the wallet's RunwayChanged that follows from it. The
    bundle signed from the projection never runs later than the wallet's run-out, and unless the two instants
    fall on either side of a second, it is the very bundle the wallet's news asks for: no second round of
    signing for one change."""
    assume(balance // old_rate < 100 * 365)  # a run-out within a century: the wallet caps farther ones
    burn = Burn(balance=balance, settled_at=NOW, rate_per_day=old_rate, segment_start=NOW)
    old_run_out = burn.depletes_at()
    assert old_run_out is not None
    now = NOW + timedelta(microseconds=elapsed_us)
    if burn.balance_at(now) == 0:
        return
    new_rate = old_rate + faster_by
    changed, _ = burn.change_rate(rate_per_day=new_rate, at=now)
    new_run_out = changed.depletes_at()
    assert new_run_out is not None

    def ladder(run_out: datetime) -> tuple[datetime, ...]:
        return tuple(sorted(run_out - timedelta(seconds=t) for t in thresholds_s))

    held = Runway(
        depleted=False,
        depletes_at=old_run_out,
        balance=balance,
        burn_rate_per_day=old_rate,
        at=NOW,
        warnings_at=ladder(old_run_out),
    )
    told = Runway(
        depleted=False,
        depletes_at=new_run_out,
        balance=changed.balance,
        burn_rate_per_day=new_rate,
        at=now,
        warnings_at=ladder(new_run_out),
    )
    projected = bundle_content(
        domain_id=DOMAIN, rentals=[replace(rental(), runway=held, account_rate_per_day=new_rate)], now=now
    )
    from_wallet = bundle_content(
        domain_id=DOMAIN, rentals=[replace(rental(), runway=told, account_rate_per_day=new_rate)], now=now
    )
    assert projected.expires_at is not None
    assert from_wallet.expires_at is not None
    assert projected.expires_at <= from_wallet.expires_at
    assert from_wallet.expires_at - projected.expires_at <= timedelta(microseconds=2)
    if int(projected.expires_at.timestamp()) == int(from_wallet.expires_at.timestamp()):
        assert not rebuild_changes(projected.document(kid="k1"), from_wallet, kid="k1")
