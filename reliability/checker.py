"""The checker over what a fault run recorded, in the shape of Jepsen's queue checker.

Every money movement has an id (the ledger entry, and the key it redeems); every licence change has one too
(the rental it starts or ends) and reaches the gateway as a bundle with a seq. The client records what it
attempted and what it saw confirmed; the services' own stores and the gateways say what happened. Matching
the two gives, per effect: ok (confirmed and present once), recovered (outcome unknown to the client, e.g.
the service died mid-request, and present once), lost (confirmed, absent), duplicated (present more than
once) and unexpected (present, never attempted). Invariants over the final state are checked beside.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal


@dataclass(frozen=True)
class Redemption:
    """A redemption request the workload made: `confirmed` when it saw the service's success answer. One key
    may be tried by several requests (a code shared by two customers); at most one may be confirmed."""

    key_id: str
    account_id: str
    amount: int
    confirmed: bool


@dataclass(frozen=True)
class RentalChange:
    """A licence change the workload attempted: a rental started (activation, or the new rental of an RMA) or
    ended (deactivation, or the old rental of an RMA). `rental_id` is None for a start whose answer never came."""

    kind: Literal["start", "end"]
    account_id: str
    rental_id: str | None
    confirmed: bool


@dataclass(frozen=True)
class SoftwareChange:
    """A software rental change the workload attempted (issue 16): a start (`rental_id` None when its answer never
    came), a count change, or an end; `count` is what the change asked for."""

    kind: Literal["start", "count", "end"]
    account_id: str
    rental_id: str | None
    count: int
    confirmed: bool


@dataclass(frozen=True)
class SoftwareRental:
    """A software rental as the contracts service holds it at the end."""

    id: str
    account_id: str
    type: str
    count: int
    active: bool


@dataclass(frozen=True)
class Rental:
    """A rental as the contracts service holds it at the end."""

    id: str
    account_id: str
    device_hwid: str
    active: bool


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    account_id: str
    kind: str  # redemption, usage, adjustment
    amount: int  # the customer wallet's line: positive credit, negative usage
    balance_after: int
    key_id: str | None
    lines_sum: int  # all lines of the entry: zero when it balances
    reload_book: int = 0  # its line in the `reload_orders` book: an Auto-iSC reload's is minus its amount


@dataclass(frozen=True)
class Account:
    id: str
    balance: int


@dataclass(frozen=True)
class ReloadOrder:
    """An Auto-iSC reload order as the wallet holds it: the crossing it answered and the ledger entry crediting it."""

    id: str
    account_id: str
    amount: int
    crossing: int
    ledger_entry_id: str


@dataclass(frozen=True)
class ReloadCrossing:
    """A crossing the wallet handled: `reloaded` ones must have their order, `failed` ones none and their reason."""

    account_id: str
    crossing: int
    outcome: Literal["reloaded", "failed"]
    order_id: str | None
    reason: str | None = None  # why a `failed` one was refused (`shared.auto_reload.FailureReason`)


# The reasons a due crossing may be refused for (`shared.auto_reload.FailureReason`): any other refusal, or none
# recorded, is a reload lost.
RELOAD_REFUSALS = frozenset({"monthly_cap_reached", "suspended_by_partner"})
# The wallet's scheduler handles a due crossing within its sleep (half a second) and one transaction: a crossing
# due longer than this when the state was read, and not handled, was lost.
RELOAD_DUE_TOLERANCE_S = 5.0


@dataclass(frozen=True)
class AutoReloadState:
    """An account's Auto-iSC as the wallet holds it at the end (epoch seconds): whether a crossing is due unhandled.

    A crossing is due at `depletes_at - threshold_s` while Auto-iSC is enabled, not paused by a run-out and the
    account not depleted; once handled (reloaded or refused) `handled_depletes_at` is that run-out, and a crossing
    the cap refused is due again at `retry_at` (the next month's start)."""

    account_id: str
    threshold_s: int
    enabled: bool
    paused_by_depletion: bool
    crossings: int  # the last crossing's number
    depletes_at: float | None
    handled_depletes_at: float | None
    depleted: bool
    retry_at: float | None


@dataclass(frozen=True)
class SignedBundle:
    """A bundle a gateway accepted (epoch seconds): its `exp` as signed (the earlier of the paid expiry and the
    lease; None: none), the paid expiry the distributor knew when it signed it (None: nothing burnt and no end),
    whether it lists devices, and when the gateway accepted it."""

    seq: int
    exp: float | None
    paid_until: float | None
    lists_devices: bool
    accepted_at: float


@dataclass(frozen=True)
class DeviceRun:
    """The gateway ran its devices under bundle `seq` from `start` to `end` (epoch seconds; None: still running)."""

    seq: int
    start: float
    end: float | None


@dataclass(frozen=True)
class Gateway:
    """One simulated gateway at the end: what it accepted and holds, against what the platform says it should."""

    hwid: str
    accepted_seqs: tuple[int, ...]
    held_seq: int
    held_devices: tuple[str, ...]  # as listed in the held bundle: a device twice is a duplicated licence
    expected_devices: frozenset[str]
    current_seq: int  # the distributor's latest bundle for it
    # The held bundle's `exp` (whole epoch seconds, None: no expiry) against its account's wallet at the end:
    # `run_out` is the wallet's depletes_at as epoch seconds with microseconds (None: nothing burns).
    held_exp: int | None = None
    run_out: float | None = None
    depleted: bool = False
    # The end of the held bundle's lease (epoch seconds; None: it has none): its `exp` is the earlier of the two.
    held_lease: int | None = None
    # The enforcement history, when recorded: every bundle accepted, every stretch the devices ran, when the
    # recording ended, and the stretches a drop was ordered or legitimate (a reboot order, an unpublished key).
    bundles: tuple[SignedBundle, ...] = ()
    runs: tuple[DeviceRun, ...] = ()
    observed_until: float | None = None
    excused: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Recorded:
    redemptions: tuple[Redemption, ...]
    ledger: tuple[LedgerEntry, ...]
    accounts: tuple[Account, ...]
    gateways: tuple[Gateway, ...]
    dead_letters: dict[str, int]  # dead-letter queue -> messages left in it
    rental_changes: tuple[RentalChange, ...] = ()
    rentals: tuple[Rental, ...] = ()
    software_changes: tuple[SoftwareChange, ...] = ()
    software_rentals: tuple[SoftwareRental, ...] = ()
    explained_dead_letters: dict[str, str] = field(default_factory=dict)  # queue -> why that is expected
    reload_orders: tuple[ReloadOrder, ...] = ()
    reload_crossings: tuple[ReloadCrossing, ...] = ()
    auto_reloads: tuple[AutoReloadState, ...] = ()
    observed_at: float | None = None  # when the wallet's state above was read (epoch seconds)


@dataclass
class Report:
    counts: Counter[str] = field(default_factory=Counter)
    anomalies: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.anomalies

    def flag(self, count: str, anomaly: str) -> None:
        self.counts[count] += 1
        self.anomalies.append(anomaly)

    def render(self) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(self.counts.items()))
        verdict = "valid" if self.valid else f"INVALID ({len(self.anomalies)} anomalies)"
        lines = [f"{verdict}: {counts}"]
        lines += [f"  - {anomaly}" for anomaly in self.anomalies[:50]]
        return "\n".join(lines)


def check(recorded: Recorded) -> Report:
    report = Report()
    _check_redemptions(recorded, report)
    _check_ledger(recorded, report)
    _check_reloads(recorded, report)
    _check_rental_changes(recorded, report)
    _check_software_changes(recorded, report)
    _check_gateways(recorded, report)
    _check_dead_letters(recorded, report)
    return report


def _check_redemptions(recorded: Recorded, report: Report) -> None:
    """Per key: applied at most once, and confirmed to at most one of the requests that tried it."""
    in_ledger = Counter(e.key_id for e in recorded.ledger if e.kind == "redemption" and e.key_id is not None)
    tries: dict[str, list[Redemption]] = {}
    for redemption in recorded.redemptions:
        tries.setdefault(redemption.key_id, []).append(redemption)
    report.counts["redemptions attempted"] = len(tries)
    report.counts["redemption requests"] = len(recorded.redemptions)
    for key_id, attempts in tries.items():
        confirmed = sum(r.confirmed for r in attempts)
        report.counts["redemptions confirmed"] += min(confirmed, 1)
        times = in_ledger.get(key_id, 0)
        if times > 1:
            report.flag("redemptions duplicated", f"key {key_id} redeemed {times} times")
        elif confirmed > 1:
            report.flag("redemptions duplicated", f"key {key_id} confirmed to {confirmed} requests")
        elif times == 1:
            report.counts["redemptions ok" if confirmed else "redemptions recovered"] += 1
        elif confirmed:
            report.flag("redemptions lost", f"key {key_id} confirmed to the client but not in the ledger")
        else:
            report.counts["redemptions not applied (unconfirmed)"] += 1
    for key_id in in_ledger.keys() - tries.keys():
        report.flag("redemptions unexpected", f"key {key_id} in the ledger but never redeemed by the workload")


def _check_software_changes(recorded: Recorded, report: Report) -> None:
    """Each software rental the client saw started exists once, each it saw ended is ended, the count of each is the
    last one confirmed (unless a change whose answer was lost came after it), and one type is rented once a domain."""
    held = {rental.id: rental for rental in recorded.software_rentals}
    changes = recorded.software_changes
    report.counts["software changes attempted"] = len(changes)
    started = {c.rental_id for c in changes if c.kind == "start" and c.confirmed and c.rental_id is not None}
    for rental_id in sorted(started):
        if rental_id not in held:
            report.flag("software changes lost", f"software rental {rental_id} started for the client but not held")
    unanswered = Counter(c.account_id for c in changes if c.kind == "start" and not c.confirmed)
    for rental in sorted(held.values(), key=lambda r: r.id):
        if rental.id in started:
            continue
        if unanswered[rental.account_id] > 0:
            unanswered[rental.account_id] -= 1
            report.counts["software changes recovered"] += 1
        else:
            report.flag("software changes unexpected", f"software rental {rental.id} held but never started")
    for rental_id, rental in sorted(held.items()):
        anomaly = _software_anomaly(rental, [c for c in changes if c.rental_id == rental_id])
        if anomaly is None:
            report.counts["software changes ok"] += 1
        else:
            report.flag("software changes lost", anomaly)
    live = Counter((r.account_id, r.type) for r in held.values() if r.active)
    for (account_id, licence_type), times in sorted(live.items()):
        if times > 1:
            report.flag("software changes duplicated", f"{licence_type} rented {times} times for account {account_id}")


def _software_anomaly(rental: SoftwareRental, mine: list[SoftwareChange]) -> str | None:
    """What is wrong with a held software rental given the changes the client made to it, in order; None: nothing."""
    if rental.active and any(c.kind == "end" and c.confirmed for c in mine):
        return f"software rental {rental.id} ended for the client but active"
    last = mine[-1] if mine else None
    if rental.active and last is not None and last.confirmed and last.kind != "end" and rental.count != last.count:
        return f"software rental {rental.id} holds {rental.count}, not {last.count}"
    return None


def _check_rental_changes(recorded: Recorded, report: Report) -> None:
    """Each rental the client saw started exists once; each it saw ended is no longer active; no other exists."""
    rentals = {rental.id: rental for rental in recorded.rentals}
    changes = recorded.rental_changes
    report.counts["rental changes attempted"] = len(changes)
    started = {c.rental_id for c in changes if c.kind == "start" and c.confirmed and c.rental_id is not None}
    _check_starts(rentals, changes, started, report)
    _check_rentals_nobody_started(rentals, changes, started, report)
    _check_ends(rentals, changes, report)
    active_per_device = Counter(rental.device_hwid for rental in rentals.values() if rental.active)
    for hwid, times in sorted(active_per_device.items()):
        if times > 1:
            report.flag("rental changes duplicated", f"device {hwid} has {times} active rentals")


def _check_starts(
    rentals: dict[str, Rental], changes: tuple[RentalChange, ...], started: set[str], report: Report
) -> None:
    """Each start confirmed to the client is held, and ended only if somebody asked to end it."""
    asked_to_end = {c.rental_id for c in changes if c.kind == "end" and c.rental_id is not None}
    for rental_id in sorted(started):
        held = rentals.get(rental_id)
        if held is None:
            report.flag("rental changes lost", f"rental {rental_id} started for the client but not held")
        elif not held.active and rental_id not in asked_to_end:
            report.flag("rental changes unexpected", f"rental {rental_id} ended, but nobody asked to end it")
        else:
            report.counts["rental changes ok"] += 1


def _check_rentals_nobody_started(
    rentals: dict[str, Rental], changes: tuple[RentalChange, ...], started: set[str], report: Report
) -> None:
    """A held rental not confirmed to anyone is one start whose answer was lost, applied once, or unexpected."""
    unanswered_starts = Counter(c.account_id for c in changes if c.kind == "start" and not c.confirmed)
    for rental in sorted(rentals.values(), key=lambda r: r.id):
        if rental.id in started:
            continue
        if unanswered_starts[rental.account_id] > 0:
            unanswered_starts[rental.account_id] -= 1
            report.counts["rental changes recovered"] += 1
        else:
            report.flag("rental changes unexpected", f"rental {rental.id} held but never started by the workload")


def _check_ends(rentals: dict[str, Rental], changes: tuple[RentalChange, ...], report: Report) -> None:
    """Each end confirmed to the client left its rental inactive."""
    for change in changes:
        if change.kind != "end" or change.rental_id is None:
            continue
        ended = rentals.get(change.rental_id)
        if ended is None:
            continue  # its start is already flagged as lost
        if not ended.active:
            report.counts["rental changes ok" if change.confirmed else "rental changes recovered"] += 1
        elif change.confirmed:
            report.flag("rental changes lost", f"rental {ended.id} ended for the client but still active")
        else:
            report.counts["rental changes not applied (unconfirmed)"] += 1


def _check_ledger(recorded: Recorded, report: Report) -> None:
    report.counts["ledger entries"] = len(recorded.ledger)
    by_account: dict[str, list[LedgerEntry]] = {}
    for entry in recorded.ledger:
        by_account.setdefault(entry.account_id, []).append(entry)
        if entry.lines_sum != 0:
            report.flag("unbalanced entries", f"ledger entry {entry.id} lines sum to {entry.lines_sum}")
        if entry.balance_after < 0:
            report.flag("negative balances", f"ledger entry {entry.id} leaves {entry.balance_after}")
    for account in recorded.accounts:
        entries = by_account.get(account.id, [])
        redeemed = sum(e.amount for e in entries if e.kind == "redemption")
        usage = -sum(e.amount for e in entries if e.kind == "usage")
        adjusted = sum(e.amount for e in entries if e.kind == "adjustment")
        reloaded = sum(e.amount for e in entries if e.kind == "auto_reload")
        if account.balance < 0:
            report.flag("negative balances", f"account {account.id} balance {account.balance}")
        if account.balance != redeemed - usage + adjusted + reloaded:
            report.flag(
                "balance mismatches",
                f"account {account.id}: balance {account.balance} != redeemed {redeemed} - usage {usage}"
                f" + adjustments {adjusted} + reloads {reloaded}",
            )
        if usage < 0:
            report.flag("negative usage", f"account {account.id}: usage {usage} gave credit back")


def _check_reloads(recorded: Recorded, report: Report) -> None:
    """Auto-iSC: every order matched by exactly one reload entry of its amount, credited from the reload book, and
    every reload entry by one order (none lost, none duplicated); every crossing that fired has exactly one order
    and every order its crossing; a refused crossing has its reason; and no crossing is due unhandled at the end."""
    entries = {e.id: e for e in recorded.ledger if e.kind == "auto_reload"}
    report.counts["reload orders"] = len(recorded.reload_orders)
    by_entry = Counter(o.ledger_entry_id for o in recorded.reload_orders)
    for order in recorded.reload_orders:
        entry = entries.get(order.ledger_entry_id)
        if entry is None or entry.account_id != order.account_id or entry.amount != order.amount:
            report.flag("reloads lost", f"order {order.id} has no reload entry of {order.amount} in its account")
        elif entry.reload_book != -order.amount:
            report.flag("reloads lost", f"order {order.id}: its entry takes {-entry.reload_book} from the reload book")
        elif by_entry[order.ledger_entry_id] > 1:
            report.flag("reloads duplicated", f"entry {order.ledger_entry_id} credits {by_entry[entry.id]} orders")
    for entry in entries.values():
        if by_entry[entry.id] == 0:
            report.flag("reloads unexpected", f"reload entry {entry.id} answers no order")
    _check_crossings(recorded, report)
    _check_nothing_due(recorded, report)


def _check_crossings(recorded: Recorded, report: Report) -> None:
    """At most one order per crossing; a reloaded crossing has its order, a refused one none but its reason; every
    order answers a reloaded crossing; and each account's crossings are numbered 1..n without a gap."""
    crossings = Counter((o.account_id, o.crossing) for o in recorded.reload_orders)
    for (account_id, crossing), n in crossings.items():
        if n > 1:
            report.flag("reloads duplicated", f"account {account_id} crossing {crossing} reloaded {n} times")
    orders = {o.id: o for o in recorded.reload_orders}
    report.counts["reload crossings"] = len(recorded.reload_crossings)
    fired = {
        order_id
        for handled in recorded.reload_crossings
        if (order_id := _crossing_anomaly(handled, orders, report)) is not None
    }
    for order in recorded.reload_orders:
        if order.id not in fired:
            report.flag("reloads unexpected", f"order {order.id} answers no crossing that fired")
    _check_crossing_numbers(recorded, report)


def _crossing_anomaly(handled: ReloadCrossing, orders: dict[str, ReloadOrder], report: Report) -> str | None:
    """Flag what is wrong with one handled crossing; the id of its order when it fired as it should."""
    where = f"account {handled.account_id} crossing {handled.crossing}"
    order = orders.get(handled.order_id) if handled.order_id is not None else None
    if handled.outcome == "reloaded":
        if order is None:
            report.flag("reloads lost", f"{where} has no order")
        elif (order.account_id, order.crossing) != (handled.account_id, handled.crossing):
            report.flag("reloads lost", f"{where} names order {order.id}, of crossing {order.crossing}")
        else:
            return order.id
    elif handled.order_id is not None:
        report.flag("reloads unexpected", f"{where} failed yet ordered")
    elif handled.reason not in RELOAD_REFUSALS:
        report.flag("reloads lost", f"{where} refused without a reason ({handled.reason})")
    else:
        report.counts["reload crossings refused"] += 1
    return None


def _check_crossing_numbers(recorded: Recorded, report: Report) -> None:
    """Each account's crossings are numbered 1..n, n the wallet's last (none skipped, none forgotten)."""
    numbers: dict[str, list[int]] = {}
    for handled in recorded.reload_crossings:
        numbers.setdefault(handled.account_id, []).append(handled.crossing)
    last = {state.account_id: state.crossings for state in recorded.auto_reloads}
    for account_id in sorted(numbers.keys() | last.keys()):
        seen = sorted(numbers.get(account_id, []))
        expected = list(range(1, last.get(account_id, len(seen)) + 1))
        if seen != expected:
            report.flag("reloads lost", f"account {account_id} crossings {seen}, not 1..{len(expected)}")


def _check_nothing_due(recorded: Recorded, report: Report) -> None:
    """No crossing was left due and unhandled when the state was read (a reload the scheduler never got to)."""
    if recorded.observed_at is None:
        return
    for state in recorded.auto_reloads:
        if not state.enabled or state.paused_by_depletion or state.depleted or state.depletes_at is None:
            continue
        handled = state.handled_depletes_at == state.depletes_at
        due = state.retry_at if handled else state.depletes_at - state.threshold_s
        if due is not None and due <= recorded.observed_at - RELOAD_DUE_TOLERANCE_S:
            report.flag(
                "reloads lost",
                f"account {state.account_id}: a crossing due at {due} was never handled"
                f" (at {recorded.observed_at}, last crossing {state.crossings})",
            )


def _check_gateways(recorded: Recorded, report: Report) -> None:
    report.counts["gateways"] = len(recorded.gateways)
    for gateway in recorded.gateways:
        seqs = gateway.accepted_seqs
        report.counts["bundles accepted"] += len(seqs)
        for before, after in pairwise(seqs):
            if after <= before:
                report.flag("stale seq accepted", f"gateway {gateway.hwid} accepted seq {after} after {before}")
        if gateway.held_seq != gateway.current_seq:
            report.flag(
                "gateways behind",
                f"gateway {gateway.hwid} holds seq {gateway.held_seq}, the distributor's is {gateway.current_seq}",
            )
        held = Counter(gateway.held_devices)
        for hwid, times in sorted(held.items()):
            if times > 1:
                report.flag("licences duplicated", f"gateway {gateway.hwid} holds device {hwid} {times} times")
        if set(held) != gateway.expected_devices:
            report.flag(
                "gateways wrong",
                f"gateway {gateway.hwid} runs {sorted(held)}, rentals say {sorted(gateway.expected_devices)}",
            )
        _check_expiry(gateway, report)
        _check_enforcement(gateway, report)


# A gateway applies a bundle and starts its devices within this long of accepting it; a gap shorter than this
# between two stretches (a restart, a bundle replacing another) is not darkness.
DARK_TOLERANCE_S = 1.0


def _check_enforcement(gateway: Gateway, report: Report) -> None:
    """No device ran past the paid time known when its bundle was signed, nor past the bundle's `exp`; and no
    gateway was dark while it held a valid bundle listing devices with paid time left.

    Needs the recorded history (`bundles`, `runs`, `observed_until`); a gateway recorded without it is counted
    as not checked.
    """
    if gateway.observed_until is None:
        report.counts["enforcement histories missing"] += 1
        return
    report.counts["enforcement histories checked"] += 1
    bundles = {b.seq: b for b in gateway.bundles}
    for run in gateway.runs:
        bundle = bundles.get(run.seq)
        end = run.end if run.end is not None else gateway.observed_until
        if bundle is None:
            report.flag(
                "devices run without a bundle", f"gateway {gateway.hwid} ran devices under unknown seq {run.seq}"
            )
            continue
        limits = [t for t in (bundle.exp, bundle.paid_until) if t is not None]
        if limits and end > min(limits):
            report.flag(
                "devices run past paid time",
                f"gateway {gateway.hwid} ran seq {run.seq} until {end}, paid until {bundle.paid_until}"
                f" (exp {bundle.exp})",
            )
    for dark in _dark_stretches(gateway):
        report.flag("gateways dark with paid time", f"gateway {gateway.hwid} was dark from {dark[0]} to {dark[1]}")


def _dark_stretches(gateway: Gateway) -> list[tuple[float, float]]:
    """The stretches, longer than the tolerance, where the latest bundle accepted listed devices and was still
    valid and paid for, and no run of it covered the time (less the excused stretches)."""
    assert gateway.observed_until is not None
    ordered = sorted(gateway.bundles, key=lambda b: b.accepted_at)
    dark: list[tuple[float, float]] = []
    for bundle, after in zip(ordered, [*ordered[1:], None], strict=True):
        if not bundle.lists_devices:
            continue
        ends = [t for t in (bundle.exp, bundle.paid_until, gateway.observed_until) if t is not None]
        if after is not None:
            ends.append(after.accepted_at)
        due = [(bundle.accepted_at, min(ends))]
        covering = [(r.start, r.end if r.end is not None else gateway.observed_until) for r in gateway.runs]
        for hole in _subtract(due, [*covering, *gateway.excused]):
            if hole[1] - hole[0] > DARK_TOLERANCE_S:
                dark.append(hole)
    return dark


def _subtract(spans: list[tuple[float, float]], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    for cut_start, cut_end in sorted(cuts):
        left: list[tuple[float, float]] = []
        for start, end in spans:
            if cut_end <= start or cut_start >= end:
                left.append((start, end))
                continue
            if cut_start > start:
                left.append((start, cut_start))
            if cut_end < end:
                left.append((cut_end, end))
        spans = left
    return spans


def _check_expiry(gateway: Gateway, report: Report) -> None:
    """A depleted account's gateway holds no devices and no exp; a running one expires at the run-out, or at the
    end of its lease if that comes first.

    The distributor rounds the run-out down to whole seconds, so a gateway never runs past it.
    """
    if gateway.depleted:
        report.counts["depleted bundles checked"] += 1
        if gateway.held_devices or gateway.held_exp is not None:
            report.flag(
                "depleted gateways running",
                f"gateway {gateway.hwid} of a depleted account holds {sorted(gateway.held_devices)}"
                f" until {gateway.held_exp}",
            )
        return
    if not gateway.held_devices:
        if gateway.held_exp is not None:
            report.flag("expiry mismatches", f"gateway {gateway.hwid} holds no devices but exp {gateway.held_exp}")
        return
    report.counts["expiries checked"] += 1
    ends = [t for t in (None if gateway.run_out is None else math.floor(gateway.run_out), gateway.held_lease) if t]
    expected = min(ends) if ends else None
    if gateway.held_exp != expected:
        report.flag(
            "expiry mismatches",
            f"gateway {gateway.hwid} holds exp {gateway.held_exp}, its account runs out at {gateway.run_out}",
        )


def _check_dead_letters(recorded: Recorded, report: Report) -> None:
    for queue, messages in sorted(recorded.dead_letters.items()):
        report.counts["dead letters"] += messages
        if messages and queue not in recorded.explained_dead_letters:
            report.flag("unexplained dead letters", f"{messages} message(s) left in {queue}")
