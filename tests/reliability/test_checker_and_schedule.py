"""The checker flags each kind of anomaly it claims to, and a clean history as valid; a seed replays its schedule."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from reliability.checker import (
    RELOAD_DUE_TOLERANCE_S,
    Account,
    AutoReloadState,
    DeviceRun,
    Gateway,
    LedgerEntry,
    Recorded,
    Redemption,
    ReloadCrossing,
    ReloadOrder,
    Rental,
    RentalChange,
    SignedBundle,
    check,
)
from reliability.enforcement import enforcement_history
from reliability.schedule import CLUSTER_FAULTS, CUT_OFF_HOLD_S, INFRA_FAULTS, SERVICE_FAULTS, FaultKind, draw_schedule

from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import FileStore, GatewayState
from license_distributor.domain import Claims, ContractRental, Runway, bundle_content
from license_distributor.domain import Device as DistributorDevice
from license_distributor.signing import SigningKey, generate_signing_key, sign_bundle

ACCOUNT = "acc-1"


def clean() -> Recorded:
    return Recorded(
        redemptions=(
            Redemption(key_id="k1", account_id=ACCOUNT, amount=100, confirmed=True),
            Redemption(key_id="k2", account_id=ACCOUNT, amount=50, confirmed=False),
            Redemption(key_id="k3", account_id=ACCOUNT, amount=70, confirmed=False),
        ),
        ledger=(
            LedgerEntry("e1", ACCOUNT, "redemption", 100, 100, "k1", 0),
            LedgerEntry("e2", ACCOUNT, "usage", -30, 70, None, 0),
            LedgerEntry("e3", ACCOUNT, "redemption", 50, 120, "k2", 0),
        ),
        accounts=(Account(ACCOUNT, 120),),
        gateways=(Gateway("gw1", (1, 2, 5), 5, ("p1",), frozenset({"p1"}), 5),),
        dead_letters={"x.wallet.events.dead": 0},
        rental_changes=(
            RentalChange("start", ACCOUNT, "r1", confirmed=True),
            RentalChange("start", ACCOUNT, "r2", confirmed=True),
            RentalChange("end", ACCOUNT, "r2", confirmed=True),
            RentalChange("start", ACCOUNT, None, confirmed=False),
            RentalChange("end", ACCOUNT, "r1", confirmed=False),
        ),
        rentals=(
            Rental("r1", ACCOUNT, "p1", active=True),
            Rental("r2", ACCOUNT, "p2", active=False),
            Rental("r3", ACCOUNT, "p3", active=False),
        ),
    )


def test_a_clean_history_is_valid_and_counts_ok_recovered_and_unapplied_effects() -> None:
    report = check(clean())
    assert report.valid, report.render()
    assert report.counts["redemptions ok"] == 1
    assert report.counts["redemptions recovered"] == 1
    assert report.counts["redemptions not applied (unconfirmed)"] == 1
    assert report.counts["bundles accepted"] == 3
    # r1 and r2 started, r2 ended; r3 is the start whose answer was lost; r1's unanswered end never applied.
    assert report.counts["rental changes ok"] == 3
    assert report.counts["rental changes recovered"] == 1
    assert report.counts["rental changes not applied (unconfirmed)"] == 1


def test_a_confirmed_redemption_missing_from_the_ledger_is_lost() -> None:
    recorded = clean()
    recorded = replace(recorded, ledger=recorded.ledger[1:], accounts=(Account(ACCOUNT, 20),))
    assert check(recorded).counts["redemptions lost"] == 1


def test_a_key_in_the_ledger_twice_is_duplicated_and_one_never_attempted_is_unexpected() -> None:
    recorded = clean()
    twice = LedgerEntry("e4", ACCOUNT, "redemption", 100, 220, "k1", 0)
    stray = LedgerEntry("e5", ACCOUNT, "redemption", 5, 225, "k9", 0)
    report = check(replace(recorded, ledger=(*recorded.ledger, twice, stray), accounts=(Account(ACCOUNT, 225),)))
    assert report.counts["redemptions duplicated"] == 1
    assert report.counts["redemptions unexpected"] == 1


def test_a_key_tried_twice_is_ok_once_and_a_key_confirmed_to_two_requests_is_duplicated() -> None:
    recorded = clean()
    refused_second_try = Redemption(key_id="k1", account_id=ACCOUNT, amount=100, confirmed=False)
    report = check(replace(recorded, redemptions=(*recorded.redemptions, refused_second_try)))
    assert report.valid, report.render()
    assert (report.counts["redemptions ok"], report.counts["redemption requests"]) == (1, 4)
    confirmed_twice = Redemption(key_id="k1", account_id=ACCOUNT, amount=100, confirmed=True)
    report = check(replace(recorded, redemptions=(*recorded.redemptions, confirmed_twice)))
    assert report.counts["redemptions duplicated"] == 1


def test_an_unbalanced_entry_a_negative_balance_and_a_balance_off_the_ledger_are_flagged() -> None:
    recorded = clean()
    broken = LedgerEntry("e6", ACCOUNT, "usage", -200, -80, None, 3)
    report = check(replace(recorded, ledger=(*recorded.ledger, broken), accounts=(Account(ACCOUNT, 119),)))
    assert report.counts["unbalanced entries"] == 1
    assert report.counts["negative balances"] == 1
    assert report.counts["balance mismatches"] == 1


NOW = 1_800_000_000.0  # when the wallet's state was read (epoch seconds)
THRESHOLD_S = 30 * 86_400


def with_reloads(recorded: Recorded) -> Recorded:
    """The clean history plus two Auto-iSC reloads of 10 and a crossing refused by the cap, each where the wallet
    keeps it, and the account's Auto-iSC at the end: the refused crossing handled, nothing due."""
    reloads = (
        LedgerEntry("r1", ACCOUNT, "auto_reload", 10, 130, None, 0, reload_book=-10),
        LedgerEntry("r2", ACCOUNT, "auto_reload", 10, 140, None, 0, reload_book=-10),
    )
    run_out = NOW + THRESHOLD_S - 60  # under the threshold for a minute
    return replace(
        recorded,
        ledger=(*recorded.ledger, *reloads),
        accounts=(Account(ACCOUNT, 140),),
        reload_orders=(ReloadOrder("o1", ACCOUNT, 10, 1, "r1"), ReloadOrder("o2", ACCOUNT, 10, 2, "r2")),
        reload_crossings=(
            ReloadCrossing(ACCOUNT, 1, "reloaded", "o1"),
            ReloadCrossing(ACCOUNT, 2, "reloaded", "o2"),
            ReloadCrossing(ACCOUNT, 3, "failed", None, reason="monthly_cap_reached"),
        ),
        auto_reloads=(
            AutoReloadState(
                ACCOUNT,
                threshold_s=THRESHOLD_S,
                enabled=True,
                paused_by_depletion=False,
                crossings=3,
                depletes_at=run_out,
                handled_depletes_at=run_out,
                depleted=False,
                retry_at=None,
            ),
        ),
        observed_at=NOW,
    )


def test_reloads_each_matched_by_one_entry_are_valid_and_count_in_the_balance() -> None:
    report = check(with_reloads(clean()))
    assert report.valid, report.render()
    assert report.counts["reload orders"] == 2
    assert (report.counts["reload crossings"], report.counts["reload crossings refused"]) == (3, 1)


def test_a_reload_lost_duplicated_or_unexpected_is_flagged() -> None:
    recorded = with_reloads(clean())
    # An order whose entry is missing (lost), a crossing reloaded twice (duplicated), an entry with no order.
    lost = replace(recorded, ledger=recorded.ledger[:-1], accounts=(Account(ACCOUNT, 130),))
    assert check(lost).counts["reloads lost"] == 1
    twice = replace(recorded, reload_orders=(*recorded.reload_orders, ReloadOrder("o3", ACCOUNT, 10, 2, "r2")))
    assert check(twice).counts["reloads duplicated"] >= 1
    stray = LedgerEntry("r9", ACCOUNT, "auto_reload", 5, 145, None, 0, reload_book=-5)
    unexpected = replace(recorded, ledger=(*recorded.ledger, stray), accounts=(Account(ACCOUNT, 145),))
    assert check(unexpected).counts["reloads unexpected"] == 1
    forgotten = replace(recorded, reload_orders=recorded.reload_orders[:1], ledger=recorded.ledger[:-1])
    assert check(replace(forgotten, accounts=(Account(ACCOUNT, 130),))).counts["reloads lost"] == 1


def test_a_duplicated_order_or_an_order_without_its_ledger_entry_fails_the_run() -> None:
    recorded = with_reloads(clean())
    # Crossing 1 reloaded twice: a second order with an entry of its own (the balance agrees with the ledger).
    again = LedgerEntry("r1b", ACCOUNT, "auto_reload", 10, 150, None, 0, reload_book=-10)
    duplicated = replace(
        recorded,
        ledger=(*recorded.ledger, again),
        accounts=(Account(ACCOUNT, 150),),
        reload_orders=(*recorded.reload_orders, ReloadOrder("o1b", ACCOUNT, 10, 1, "r1b")),
    )
    report = check(duplicated)
    assert not report.valid
    assert report.counts["reloads duplicated"] == 1, report.render()
    assert report.counts["reloads unexpected"] == 1, report.render()  # o1b answers no crossing that fired
    # An order naming a ledger entry that is not there (the credit never booked): the balance never got it.
    unbooked = replace(
        recorded,
        ledger=recorded.ledger[:-1],
        accounts=(Account(ACCOUNT, 130),),
        reload_orders=(recorded.reload_orders[0], ReloadOrder("o2", ACCOUNT, 10, 2, "nowhere")),
    )
    report = check(unbooked)
    assert not report.valid
    assert report.counts["reloads lost"] == 1, report.render()
    # An entry of the right amount that was not taken from the reload book; an entry of another amount.
    off_book = replace(recorded.ledger[-1], reload_book=0)
    assert check(replace(recorded, ledger=(*recorded.ledger[:-1], off_book))).counts["reloads lost"] == 1
    short = replace(recorded, reload_orders=(recorded.reload_orders[0], ReloadOrder("o2", ACCOUNT, 9, 2, "r2")))
    assert check(short).counts["reloads lost"] == 1


def test_a_crossing_without_its_order_or_reason_skipped_or_left_due_is_a_reload_lost() -> None:
    recorded = with_reloads(clean())
    crossings = recorded.reload_crossings
    # Crossing 2 names crossing 1's order (and o2 then answers none).
    crossed = replace(recorded, reload_crossings=(crossings[0], replace(crossings[1], order_id="o1"), crossings[2]))
    report = check(crossed)
    assert (report.counts["reloads lost"], report.counts["reloads unexpected"]) == (1, 1), report.render()
    # Refused without a reason, or for one that is none of the refusals.
    for reason in (None, "timeout"):
        refused = replace(recorded, reload_crossings=(*crossings[:2], replace(crossings[2], reason=reason)))
        assert check(refused).counts["reloads lost"] == 1
    # A gap in the numbers: crossing 3 is the wallet's last, but only 1, 2 and 4 are recorded.
    gap = replace(recorded, reload_crossings=(*crossings[:2], replace(crossings[2], crossing=4)))
    assert check(gap).counts["reloads lost"] >= 1
    # At the end, a crossing due for longer than the tolerance and not handled (the scheduler never got to it).
    [state] = recorded.auto_reloads
    assert state.depletes_at is not None
    unhandled = replace(state, handled_depletes_at=state.depletes_at - 10)
    assert check(replace(recorded, auto_reloads=(unhandled,))).counts["reloads lost"] == 1
    # Not yet due beyond the tolerance, due while paused by a run-out, or disabled: nothing is lost.
    soon = replace(unhandled, depletes_at=NOW + THRESHOLD_S - RELOAD_DUE_TOLERANCE_S / 2)
    for fine in (soon, replace(unhandled, paused_by_depletion=True), replace(unhandled, enabled=False)):
        report = check(replace(recorded, auto_reloads=(fine,)))
        assert report.valid, report.render()
    # A crossing the cap refused is due again when the next month starts: left due past its retry, it is lost;
    # before its retry, it is not.
    refused_by_cap = replace(state, handled_depletes_at=state.depletes_at, retry_at=NOW - 2 * RELOAD_DUE_TOLERANCE_S)
    assert check(replace(recorded, auto_reloads=(refused_by_cap,))).counts["reloads lost"] == 1
    waiting = replace(refused_by_cap, retry_at=NOW + 3600)
    report = check(replace(recorded, auto_reloads=(waiting,)))
    assert report.valid, report.render()


def test_a_lower_seq_accepted_a_gateway_behind_or_running_the_wrong_devices_is_flagged() -> None:
    stale = Gateway("gw1", (1, 3, 3, 2), 2, ("p1", "p2"), frozenset({"p1"}), 4)
    report = check(replace(clean(), gateways=(stale,)))
    assert report.counts["stale seq accepted"] == 2
    assert report.counts["gateways behind"] == 1
    assert report.counts["gateways wrong"] == 1


def test_a_started_rental_not_held_an_ended_one_still_active_and_a_stray_one_are_flagged() -> None:
    recorded = clean()
    lost_start = replace(recorded, rentals=recorded.rentals[1:])
    assert check(lost_start).counts["rental changes lost"] == 1
    still_active = replace(recorded, rentals=(recorded.rentals[0], replace(recorded.rentals[1], active=True)))
    report = check(still_active)
    assert report.counts["rental changes lost"] == 1
    stray = replace(recorded, rentals=(*recorded.rentals, Rental("r9", ACCOUNT, "p9", active=True)))
    assert check(stray).counts["rental changes unexpected"] == 1
    dropped = replace(recorded, rentals=(replace(recorded.rentals[0], active=False), *recorded.rentals[1:]))
    dropped = replace(dropped, rental_changes=recorded.rental_changes[:-1])  # nobody asked to end r1
    assert check(dropped).counts["rental changes unexpected"] == 1


def test_a_device_with_two_active_rentals_or_listed_twice_in_a_bundle_is_duplicated() -> None:
    recorded = clean()
    twice = replace(recorded, rentals=(*recorded.rentals, Rental("r4", ACCOUNT, "p1", active=True)))
    twice = replace(twice, rental_changes=(*recorded.rental_changes, RentalChange("start", ACCOUNT, "r4", True)))
    assert check(twice).counts["rental changes duplicated"] == 1
    listed_twice = replace(recorded.gateways[0], held_devices=("p1", "p1"))
    report = check(replace(recorded, gateways=(listed_twice,)))
    assert report.counts["licences duplicated"] == 1
    assert report.counts["gateways wrong"] == 0


def test_dead_letters_are_anomalies_unless_explained() -> None:
    recorded = replace(clean(), dead_letters={"x.contracts.events.dead": 2})
    assert check(recorded).counts["unexplained dead letters"] == 1
    explained = replace(recorded, explained_dead_letters={"x.contracts.events.dead": "poison sent on purpose"})
    assert check(explained).valid


def test_the_same_seed_draws_the_same_schedule_and_infrastructure_faults_only_when_asked() -> None:
    first = draw_schedule(seed=7, duration_s=20, faults=30)
    assert first == draw_schedule(seed=7, duration_s=20, faults=30)
    assert first != draw_schedule(seed=8, duration_s=20, faults=30)
    assert [f.at_s for f in first] == sorted(f.at_s for f in first)
    assert {f.kind for f in first} == {FaultKind.KILL, FaultKind.CLOSE_BROKER_CONNECTIONS}
    with_infra = draw_schedule(seed=7, duration_s=20, faults=30, infrastructure=True)
    assert {FaultKind.RESTART_RABBITMQ, FaultKind.RESTART_POSTGRES} & {f.kind for f in with_infra}


def test_a_running_gateway_must_expire_at_its_accounts_run_out_rounded_down_to_whole_seconds() -> None:
    recorded = clean()
    gateway = replace(recorded.gateways[0], held_exp=1_800_000_100, run_out=1_800_000_100.999999)
    assert check(replace(recorded, gateways=(gateway,))).valid
    late = replace(gateway, held_exp=1_800_000_101)
    report = check(replace(recorded, gateways=(late,)))
    assert report.counts["expiry mismatches"] == 1
    forever = replace(gateway, held_exp=None)
    assert check(replace(recorded, gateways=(forever,))).counts["expiry mismatches"] == 1


def test_a_running_gateway_expires_at_its_lease_when_that_comes_before_the_run_out() -> None:
    recorded = clean()
    leased = replace(recorded.gateways[0], held_exp=1_800_000_050, run_out=1_800_000_100.5, held_lease=1_800_000_050)
    assert check(replace(recorded, gateways=(leased,))).valid
    # Nothing burns: the lease alone bounds it.
    unbounded = replace(leased, run_out=None)
    assert check(replace(recorded, gateways=(unbounded,))).valid
    assert check(replace(recorded, gateways=(replace(leased, held_lease=None),))).counts["expiry mismatches"] == 1


T0 = 1_800_000_000.0


def with_history(**changes: object) -> Recorded:
    """The clean history's gateway with an enforcement history: seq 5 accepted at T0, paid until T0 + 100,
    its devices running from then until the recording ended at T0 + 60."""
    recorded = clean()
    history: dict[str, object] = {
        "bundles": (SignedBundle(seq=5, exp=T0 + 100, paid_until=T0 + 100, lists_devices=True, accepted_at=T0),),
        "runs": (DeviceRun(seq=5, start=T0 + 0.01, end=None),),
        "observed_until": T0 + 60,
    }
    gateway = replace(recorded.gateways[0], **{**history, **changes})  # type: ignore[arg-type]
    return replace(recorded, gateways=(gateway,))


def test_an_enforcement_history_is_checked_when_recorded_and_counted_as_missing_when_not() -> None:
    report = check(with_history())
    assert report.valid, report.render()
    assert report.counts["enforcement histories checked"] == 1
    assert check(clean()).counts["enforcement histories missing"] == 1


def test_devices_run_past_the_paid_time_known_at_signing_or_past_exp_are_flagged() -> None:
    past_paid = with_history(
        bundles=(SignedBundle(seq=5, exp=T0 + 100, paid_until=T0 + 30, lists_devices=True, accepted_at=T0),),
        runs=(DeviceRun(seq=5, start=T0, end=T0 + 31),),
    )
    assert check(past_paid).counts["devices run past paid time"] == 1
    past_exp = with_history(
        bundles=(SignedBundle(seq=5, exp=T0 + 20, paid_until=None, lists_devices=True, accepted_at=T0),),
        runs=(DeviceRun(seq=5, start=T0, end=T0 + 20.5),),
    )
    assert check(past_exp).counts["devices run past paid time"] == 1
    stopped_in_time = with_history(
        bundles=(SignedBundle(seq=5, exp=T0 + 20, paid_until=T0 + 20, lists_devices=True, accepted_at=T0),),
        runs=(DeviceRun(seq=5, start=T0, end=T0 + 20),),
    )
    assert check(stopped_in_time).valid
    assert check(with_history(runs=(DeviceRun(seq=9, start=T0, end=T0 + 1),))).counts["devices run without a bundle"]


def test_a_gateway_dark_while_a_valid_paid_bundle_remained_is_flagged_unless_excused_or_brief() -> None:
    # It stopped at T0 + 10 (say, a restart that dropped its bundle) although paid until T0 + 100.
    dark = with_history(runs=(DeviceRun(seq=5, start=T0, end=T0 + 10), DeviceRun(seq=5, start=T0 + 40, end=None)))
    report = check(dark)
    assert report.counts["gateways dark with paid time"] == 1
    assert str(T0 + 10) in report.anomalies[0]
    # A restart of under a second is no darkness; an ordered drop (a reboot order, a revoked key) is excused.
    brief = with_history(runs=(DeviceRun(seq=5, start=T0, end=T0 + 10), DeviceRun(seq=5, start=T0 + 10.5, end=None)))
    assert check(brief).valid
    excused = replace(dark, gateways=(replace(dark.gateways[0], excused=((T0 + 10, T0 + 40),)),))
    assert check(excused).valid
    # After exp (or the paid time) nothing must run: no darkness then.
    ended = with_history(
        bundles=(SignedBundle(seq=5, exp=T0 + 10, paid_until=T0 + 10, lists_devices=True, accepted_at=T0),),
        runs=(DeviceRun(seq=5, start=T0, end=T0 + 10),),
    )
    assert check(ended).valid
    # A bundle that lists nothing is never darkness.
    idle = with_history(
        bundles=(SignedBundle(seq=5, exp=None, paid_until=None, lists_devices=False, accepted_at=T0),), runs=()
    )
    assert check(idle).valid


def test_a_depleted_accounts_gateway_holding_devices_or_an_expiry_is_flagged() -> None:
    recorded = clean()
    empty = replace(recorded.gateways[0], held_devices=(), expected_devices=frozenset(), depleted=True)
    report = check(replace(recorded, gateways=(empty,)))
    assert report.valid, report.render()
    assert report.counts["depleted bundles checked"] == 1
    with_exp = replace(empty, held_exp=1_800_000_000)
    assert check(replace(recorded, gateways=(with_exp,))).counts["depleted gateways running"] == 1
    running = replace(recorded.gateways[0], depleted=True)
    assert check(replace(recorded, gateways=(running,))).counts["depleted gateways running"] == 1


def test_every_seed_has_every_kind_of_fault_and_server_restarts_only_when_asked() -> None:
    for seed in range(1, 51):
        kinds = {fault.kind for fault in draw_schedule(seed=seed, duration_s=12, faults=4, infrastructure=True)}
        assert kinds == set(SERVICE_FAULTS + INFRA_FAULTS), seed
        plain = {fault.kind for fault in draw_schedule(seed=seed, duration_s=12, faults=4)}
        assert plain == {FaultKind.KILL, FaultKind.CLOSE_BROKER_CONNECTIONS}, seed


def test_every_cluster_seed_kills_a_node_and_the_leader_cuts_a_node_off_and_fails_postgres_over() -> None:
    for seed in range(1, 21):
        schedule = draw_schedule(seed=seed, duration_s=12, faults=4, cluster=True)
        assert {fault.kind for fault in schedule} == set(SERVICE_FAULTS + CLUSTER_FAULTS), seed
        for fault in schedule:
            named = fault.kind in (FaultKind.KILL_RABBITMQ_NODE, FaultKind.CUT_OFF_RABBITMQ_NODE)
            assert (fault.node is not None) == named, fault
            if fault.kind is FaultKind.CUT_OFF_RABBITMQ_NODE:
                assert CUT_OFF_HOLD_S[0] <= fault.hold_s <= CUT_OFF_HOLD_S[1], fault
    assert draw_schedule(seed=3, duration_s=12, faults=4, cluster=True) != draw_schedule(
        seed=3, duration_s=12, faults=4
    )


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def _simulated_gateway(tmp_path: Path, clock: _Clock) -> tuple[SimulatedGateway, SigningKey]:
    key = generate_signing_key()

    def jwks(_request: httpx.Request) -> httpx.Response:  # httpx.MockTransport's handler signature
        return httpx.Response(200, json={"keys": [key.public_jwk]})

    client = httpx.AsyncClient(transport=httpx.MockTransport(jwks))
    gateway = SimulatedGateway(
        state=GatewayState.generate(phones=1),
        store=FileStore(tmp_path),
        distributor_url="http://distributor",
        jwks=JwksCache(url="http://distributor/.well-known/jwks.json", client=client, min_refresh_s=0),
        clock=clock,
    )
    return gateway, key


def _bundle_for(gateway: SimulatedGateway, key: SigningKey, *, seq: int, now: datetime, paid_for: timedelta) -> str:
    phones = tuple(DistributorDevice(hwid=p.hwid, product=p.product) for p in gateway.state.phones)
    rental = ContractRental(
        contract_id=uuid.uuid4(),
        active=True,
        ends_at=None,
        devices=phones,
        licences=(),
        runway=Runway(depleted=False, depletes_at=now + paid_for),
    )
    content = bundle_content(domain_id=uuid.uuid4(), rentals=[rental], now=now)
    claims = Claims(issuer="urn:t", hwid=gateway.hwid, seq=seq, issued_at=now, content=content)
    return sign_bundle(key, claims.as_dict())


async def test_a_simulated_gateway_s_history_passes_the_enforcement_checks_and_a_dropped_bundle_is_dark(
    tmp_path: Path,
) -> None:
    clock = _Clock()
    start = clock.now
    gateway, key = _simulated_gateway(tmp_path, clock)
    await gateway.offer(_bundle_for(gateway, key, seq=1, now=start, paid_for=timedelta(seconds=100)))
    paid = {1: (start + timedelta(seconds=100)).timestamp()}
    clock.now = start + timedelta(seconds=30)
    history = enforcement_history(gateway, paid_until=paid, until=clock.now)
    recorded = clean()
    ran = history.of(recorded.gateways[0])
    report = check(replace(recorded, gateways=(ran,)))
    assert report.valid, report.render()

    # The bundle dropped with paid time left (as a gateway that lost it at a restart would): dark from then on.
    gateway.reboot("power_cut")
    clock.now = start + timedelta(seconds=60)
    history = enforcement_history(gateway, paid_until=paid, until=clock.now)
    dark = history.of(recorded.gateways[0])
    assert check(replace(recorded, gateways=(dark,))).counts["gateways dark with paid time"] == 1

    # Paid time known at signing shorter than what the gateway ran: flagged.
    gateway.shut_down()
    short = enforcement_history(gateway, paid_until={1: (start + timedelta(seconds=10)).timestamp()}, until=clock.now)
    overran = short.of(recorded.gateways[0])
    assert check(replace(recorded, gateways=(overran,))).counts["devices run past paid time"] == 1


def test_software_rentals_lost_duplicated_or_miscounted_are_flagged() -> None:
    from reliability.checker import SoftwareChange, SoftwareRental

    changes = (
        SoftwareChange("start", ACCOUNT, "s1", 2, confirmed=True),
        SoftwareChange("count", ACCOUNT, "s1", 5, confirmed=True),
        SoftwareChange("start", ACCOUNT, None, 1, confirmed=False),
        SoftwareChange("start", ACCOUNT, "s3", 1, confirmed=True),
        SoftwareChange("end", ACCOUNT, "s3", 0, confirmed=True),
    )
    held = (
        SoftwareRental("s1", ACCOUNT, "UC", 5, active=True),
        SoftwareRental("s2", ACCOUNT, "FAX", 1, active=True),  # the start whose answer was lost
        SoftwareRental("s3", ACCOUNT, "VIDEO", 1, active=False),
    )
    good = replace(clean(), software_changes=changes, software_rentals=held)
    report = check(good)
    assert report.valid, report.render()
    assert report.counts["software changes recovered"] == 1
    miscounted = replace(good, software_rentals=(replace(held[0], count=2), *held[1:]))
    assert "software changes lost" in check(miscounted).counts
    lost = replace(good, software_rentals=held[1:])
    assert "software changes lost" in check(lost).counts
    still = replace(good, software_rentals=(*held[:2], replace(held[2], active=True)))
    assert "software changes lost" in check(still).counts
    twice = replace(good, software_rentals=(*held, SoftwareRental("s4", ACCOUNT, "UC", 1, active=True)))
    report = check(twice)
    assert "software changes duplicated" in report.counts
    assert "software changes unexpected" in report.counts
