"""The contract rules without I/O: the life cycle, funding from wallet events, what may be rented, snapshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.domain import (
    TRANSITIONS,
    ContractStatus,
    DeviceFacts,
    Funding,
    LicenceGrant,
    RentalStatus,
    RentedUnit,
    Transition,
    WalletFact,
    check_activation,
    check_rental_is_active,
    check_replacement,
    has_credit,
    reconcile,
    rental_snapshot,
    transition,
)
from shared.refusals import Conflict

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FUNDED = Funding(balance=5_000_000, depletes_at=NOW + timedelta(days=3), version=3, rank=WalletFact.RUNWAY_CHANGED)


def rentable(**overrides: object) -> DeviceFacts:
    values: dict[str, object] = {
        "device_id": uuid.uuid4(),
        "removed": False,
        "domain_linked": True,
        "rentable": True,
        "rented": False,
    }
    values.update(overrides)
    return DeviceFacts(**values)  # type: ignore[arg-type]


# --- life cycle -----------------------------------------------------------------------------------------------


def test_the_happy_life_cycle_runs_draft_accepted_approved_suspended_resumed_terminated() -> None:
    status = ContractStatus.DRAFT
    for action, expected in [
        (Transition.ACCEPT, ContractStatus.PENDING_APPROVAL),
        (Transition.APPROVE, ContractStatus.ACTIVE),
        (Transition.SUSPEND, ContractStatus.SUSPENDED),
        (Transition.RESUME, ContractStatus.ACTIVE),
        (Transition.TERMINATE, ContractStatus.TERMINATED),
    ]:
        status = transition(status, action)
        assert status is expected


@pytest.mark.parametrize(
    ("status", "action", "code"),
    [
        (ContractStatus.PENDING_APPROVAL, Transition.ACCEPT, "contract_not_draft"),
        (ContractStatus.DRAFT, Transition.APPROVE, "contract_not_pending_approval"),
        (ContractStatus.ACTIVE, Transition.APPROVE, "contract_not_pending_approval"),
        (ContractStatus.PENDING_APPROVAL, Transition.SUSPEND, "contract_not_active"),
        (ContractStatus.ACTIVE, Transition.RESUME, "contract_not_suspended"),
        (ContractStatus.TERMINATED, Transition.TERMINATE, "contract_already_terminated"),
    ],
)
def test_a_transition_the_life_cycle_does_not_allow_is_refused_with_its_own_code(
    status: ContractStatus, action: Transition, code: str
) -> None:
    with pytest.raises(Conflict) as refused:
        transition(status, action)
    assert refused.value.code == code


@given(st.lists(st.sampled_from(list(Transition)), max_size=30))
def test_any_sequence_of_requests_only_ever_follows_the_table_and_terminated_is_final(
    actions: list[Transition],
) -> None:
    status = ContractStatus.DRAFT
    for action in actions:
        before = status
        try:
            status = transition(status, action)
        except Conflict:
            assert (before, action) not in TRANSITIONS
            continue
        assert TRANSITIONS[(before, action)] is status
        assert before is not ContractStatus.TERMINATED
    if status is ContractStatus.TERMINATED:
        for action in Transition:
            with pytest.raises(Conflict):
                transition(status, action)


@given(st.lists(st.sampled_from(list(Transition)), max_size=30))
def test_a_contract_is_only_ever_active_after_an_approval(actions: list[Transition]) -> None:
    status, approved = ContractStatus.DRAFT, False
    for action in actions:
        try:
            status = transition(status, action)
        except Conflict:
            continue
        approved = approved or action is Transition.APPROVE
        if status in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED):
            assert approved


# --- funding from the wallet's events (which event wins is SQL: tests/integration/contracts) ------------


def test_an_active_contract_is_suspended_at_zero_and_a_suspended_one_resumed_above() -> None:
    zero = Funding(balance=0, depletes_at=NOW, version=2, rank=WalletFact.BALANCE_DEPLETED)
    assert reconcile(ContractStatus.ACTIVE, zero) is Transition.SUSPEND
    assert reconcile(ContractStatus.SUSPENDED, FUNDED) is Transition.RESUME
    assert reconcile(ContractStatus.ACTIVE, FUNDED) is None
    assert reconcile(ContractStatus.SUSPENDED, zero) is None
    for untouched in (ContractStatus.DRAFT, ContractStatus.PENDING_APPROVAL, ContractStatus.TERMINATED):
        assert reconcile(untouched, zero) is None
        assert reconcile(untouched, FUNDED) is None


def test_credit_is_a_positive_balance_that_has_not_run_out_yet() -> None:
    assert has_credit(FUNDED, now=NOW)
    assert not has_credit(None, now=NOW)
    assert not has_credit(Funding(0, None, 1, WalletFact.RUNWAY_CHANGED), now=NOW)
    ran_out = Funding(balance=10, depletes_at=NOW - timedelta(seconds=1), version=1, rank=WalletFact.RUNWAY_CHANGED)
    assert not has_credit(ran_out, now=NOW)
    assert has_credit(Funding(10, None, 1, WalletFact.RUNWAY_CHANGED), now=NOW)


# --- what may be rented ------------------------------------------------------------------------------------


def test_an_active_funded_contract_may_rent_a_rentable_free_device_of_a_linked_domain() -> None:
    check_activation(contract_status=ContractStatus.ACTIVE, funding=FUNDED, device=rentable(), now=NOW)


@pytest.mark.parametrize(
    ("status", "funding", "device", "code"),
    [
        (ContractStatus.SUSPENDED, FUNDED, rentable(), "contract_not_active"),
        (ContractStatus.DRAFT, FUNDED, rentable(), "contract_not_active"),
        (ContractStatus.ACTIVE, None, rentable(), "no_credit"),
        (ContractStatus.ACTIVE, FUNDED, rentable(removed=True), "device_removed"),
        (ContractStatus.ACTIVE, FUNDED, rentable(domain_linked=False), "domain_not_linked"),
        (ContractStatus.ACTIVE, FUNDED, rentable(rentable=False), "product_not_rentable"),
        (ContractStatus.ACTIVE, FUNDED, rentable(rented=True), "device_already_rented"),
    ],
)
def test_each_activation_refusal_has_its_own_code(
    status: ContractStatus, funding: Funding | None, device: DeviceFacts, code: str
) -> None:
    with pytest.raises(Conflict) as refused:
        check_activation(contract_status=status, funding=funding, device=device, now=NOW)
    assert refused.value.code == code


def test_a_replacement_is_allowed_while_suspended_but_not_onto_the_same_or_a_rented_device() -> None:
    old_device = uuid.uuid4()
    check_replacement(
        contract_status=ContractStatus.SUSPENDED,
        rental_status=RentalStatus.ACTIVE,
        old_device_id=old_device,
        new_device=rentable(),
    )
    for new, code in [
        (rentable(device_id=old_device), "replacement_is_same_device"),
        (rentable(rented=True), "device_already_rented"),
    ]:
        with pytest.raises(Conflict) as refused:
            check_replacement(
                contract_status=ContractStatus.ACTIVE,
                rental_status=RentalStatus.ACTIVE,
                old_device_id=old_device,
                new_device=new,
            )
        assert refused.value.code == code


@pytest.mark.parametrize("status", [RentalStatus.DEACTIVATED, RentalStatus.REPLACED])
def test_an_ended_rental_can_be_neither_deactivated_nor_replaced(status: RentalStatus) -> None:
    with pytest.raises(Conflict) as refused:
        check_rental_is_active(status)
    assert refused.value.code == "rental_not_active"
    with pytest.raises(Conflict):
        check_replacement(
            contract_status=ContractStatus.ACTIVE,
            rental_status=status,
            old_device_id=uuid.uuid4(),
            new_device=rentable(),
        )


# --- the rental snapshot ------------------------------------------------------------------------------------

DOMAINS = [uuid.UUID(int=i) for i in range(1, 4)]
units = st.builds(
    RentedUnit,
    domain_id=st.sampled_from(DOMAINS),
    device_id=st.uuids(),
    hwid=st.text(alphabet="0123456789abcdef", min_size=12, max_size=12),
    product=st.sampled_from(["phone-a", "phone-b", "gw-1"]),
    rate_per_day=st.integers(min_value=0, max_value=10**8),
    licences=st.lists(
        st.builds(LicenceGrant, type=st.sampled_from(["PORT", "SEAT"]), count=st.integers(1, 5)), max_size=2
    ).map(tuple),
)


@given(
    st.lists(units, max_size=15, unique_by=lambda u: u.device_id),
    st.sampled_from(list(ContractStatus)),
    st.lists(st.sampled_from(DOMAINS), unique=True),
)
def test_a_snapshot_burns_the_sum_of_its_rates_only_while_active_and_counts_every_licence(
    rented: list[RentedUnit], status: ContractStatus, linked: list[uuid.UUID]
) -> None:
    snapshot = rental_snapshot(status=status, linked_domain_ids=linked, units=rented)
    assert snapshot.active is (status is ContractStatus.ACTIVE)
    assert snapshot.burn_rate_per_day == (sum(u.rate_per_day for u in rented) if snapshot.active else 0)
    assert {d.domain_id for d in snapshot.domains} == set(linked) | {u.domain_id for u in rented}
    assert sorted(u.device_id for d in snapshot.domains for u in d.units) == sorted(u.device_id for u in rented)
    for d in snapshot.domains:
        for grant_type in ("PORT", "SEAT"):
            expected = sum(
                g.count for u in rented if u.domain_id == d.domain_id for g in u.licences if g.type == grant_type
            )
            held = sum(g.count for g in d.licences if g.type == grant_type)
            assert held == expected
    # The same rental, listed in another order, is the same snapshot.
    assert rental_snapshot(status=status, linked_domain_ids=reversed(linked), units=reversed(rented)) == snapshot


def test_time_left_is_told_in_honest_units() -> None:
    from contracts.domain import time_left_words

    assert time_left_words(10 * 3_600) == "10 hours 0 minutes"
    assert time_left_words(45 * 60) == "45 minutes"
    assert time_left_words(59) == "59 seconds"
    assert time_left_words(86_400 + 3_600) == "1 day 1 hour"
    assert time_left_words(3 * 7 * 86_400 + 86_400) == "3 weeks 1 day"
