"""The burn-down arithmetic, free of I/O: an account's balance burning along a piecewise rate, and its run-out.

The wallet owns the account's burn (`wallet.domain` re-exports it); contracts' forecast (`POST
/contracts/{id}/forecast`) computes "what if" with this same code over the burn state the wallet announces in
`RunwayChanged.burn`, so a forecast and the run-out the real change then produces are one computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from shared.auto_reload import ReloadSetting, planned_reloads
from shared.events.wallet import BurnState, BurnStep
from shared.money import SECONDS_PER_DAY
from shared.refusals import Conflict

MICROSECONDS_PER_DAY = SECONDS_PER_DAY * 1_000_000
_ONE_MICROSECOND = timedelta(microseconds=1)
# Python's datetime ends in year 9999; a run-out further away than this is shown as this instant.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def _elapsed_us(start: datetime, end: datetime) -> int:
    return max(0, (end - start) // _ONE_MICROSECOND)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def usage_for(*, rate_per_day: int, elapsed_us: int) -> int:
    """Usage in micro-iSC of `elapsed_us` at `rate_per_day`, rounded UP: rounding never creates credit."""
    return _ceil_div(rate_per_day * elapsed_us, MICROSECONDS_PER_DAY)


class BurnError(ValueError):
    """A burn-down operation that the rules do not allow (a bug in the caller, never a client error): not a
    refusal, so it surfaces as the defect it is."""


class InsufficientBalance(Conflict):
    """A debit larger than the balance at that instant."""

    code = "insufficient_balance"


@dataclass(frozen=True)
class RateStep:
    """The account's whole burn rate from `effective_at` on (a scheduled tariff change)."""

    effective_at: datetime
    rate_per_day: int


@dataclass(frozen=True)
class ContractRates:
    """One contract's rate as its newest RentalChanged told it: `rate_per_day` now, then each scheduled step."""

    rate_per_day: int
    scheduled: tuple[RateStep, ...] = ()

    def rate_at(self, at: datetime) -> int:
        rate = self.rate_per_day
        for step in self.scheduled:
            if step.effective_at > at:
                break
            rate = step.rate_per_day
        return rate


def _normalized(rate_per_day: int, steps: Iterable[RateStep], *, start: datetime) -> tuple[int, tuple[RateStep, ...]]:
    """The step function `rate_per_day` then `steps`, seen from `start` on: its rate at `start` and the steps after
    it, ascending, each a real change (a step to the rate already burning is dropped)."""
    rate, after = rate_per_day, list[RateStep]()
    for step in sorted(steps, key=lambda s: s.effective_at):
        if step.rate_per_day < 0:
            raise BurnError("a burn rate is never negative")
        if step.effective_at <= start:
            rate = step.rate_per_day
        elif step.rate_per_day != (after[-1].rate_per_day if after else rate):
            after.append(step)
    if rate < 0:
        raise BurnError("a burn rate is never negative")
    return rate, tuple(after)


def account_rates(contracts: Iterable[ContractRates], *, start: datetime) -> tuple[int, tuple[RateStep, ...]]:
    """The account's burn from `start` on, summed over its contracts: the rate at `start` and the steps after it."""
    contracts = list(contracts)
    instants = sorted({s.effective_at for c in contracts for s in c.scheduled if s.effective_at > start})
    rate_now = sum(c.rate_at(start) for c in contracts)
    steps = [RateStep(effective_at=t, rate_per_day=sum(c.rate_at(t) for c in contracts)) for t in instants]
    return _normalized(rate_now, steps, start=start)


@dataclass(frozen=True)
class Burn:
    """An account's money at its last settlement, and how it burns from there.

    Usage is measured per *segment* (from `segment_start`, at `rate_per_day` and then at each scheduled step of
    `schedule`): within a segment the burn is a step function, cut into *pieces* at the steps. The usage owed at
    `t` is, over the pieces up to `t`, the sum of each piece's rounded-up usage, minus what the segment already
    settled. So settling often never costs more than settling once (across a step too), each piece is charged at
    its own rate, and rounding adds at most one micro-iSC per piece (a segment ends at each rate change, and when
    burning resumes after the balance was empty).
    """

    balance: int
    settled_at: datetime
    # The rate at `segment_start`; the rate at any instant is `rate_at`.
    rate_per_day: int
    segment_start: datetime
    segment_used: int = 0
    # BalanceDepleted was announced and no credit has come back since: nothing burns.
    depleted: bool = False
    # Scheduled rate changes after `segment_start`, ascending: the account's whole rate from each instant on.
    schedule: tuple[RateStep, ...] = ()

    @classmethod
    def opened(cls, at: datetime) -> Burn:
        return cls(balance=0, settled_at=at, rate_per_day=0, segment_start=at)

    def rate_at(self, at: datetime) -> int:
        rate = self.rate_per_day
        for step in self.schedule:
            if step.effective_at > at:
                break
            rate = step.rate_per_day
        return rate

    def rates_from(self, at: datetime) -> tuple[int, tuple[RateStep, ...]]:
        """How this burn goes on from `at`: the rate then and the steps after it."""
        return _normalized(self.rate_per_day, self.schedule, start=max(at, self.segment_start))

    def _pieces(self) -> list[tuple[datetime, datetime | None, int]]:
        """The segment's stretches at one rate: (start, end or None for the last, rate)."""
        starts = [(self.segment_start, self.rate_per_day), *((s.effective_at, s.rate_per_day) for s in self.schedule)]
        return [
            (start, starts[i + 1][0] if i + 1 < len(starts) else None, rate) for i, (start, rate) in enumerate(starts)
        ]

    def owed(self, at: datetime) -> int:
        """The segment's usage from its start to `at`: each piece rounded up on its own, uncapped."""
        total = 0
        for start, end, rate in self._pieces():
            if at <= start:
                break
            stop = at if end is None else min(at, end)
            total += usage_for(rate_per_day=rate, elapsed_us=_elapsed_us(start, stop))
        return total

    def usage_due(self, at: datetime) -> int:
        """Usage not yet settled at `at`, capped at the balance (the balance never goes below zero)."""
        if self.balance == 0:
            return 0
        at = max(at, self.settled_at)
        return min(self.balance, max(0, self.owed(at) - self.segment_used))

    def balance_at(self, at: datetime) -> int:
        return self.balance - self.usage_due(at)

    def depletes_at(self) -> datetime | None:
        """The first microsecond at which the balance reads zero; None while nothing burns.

        Within a piece starting at `s` at `rate`, after the earlier pieces' usage `C`, usage reaches the target
        `u` when `C + ceil(rate * us / D) >= u`, i.e. `rate * us > (u - C - 1) * D`. The pieces are walked in
        order, so the instant accounts for every scheduled step before it. An empty balance that burns (and was
        not announced as depleted) is due at once, or when it starts to burn.
        """
        if self.depleted:
            return None
        if self.balance == 0:
            if self.rate_at(self.settled_at) > 0:
                return self.settled_at
            later = [s.effective_at for s in self.schedule if s.effective_at > self.settled_at and s.rate_per_day]
            return later[0] if later else None
        target = self.segment_used + self.balance
        used = 0
        for start, end, rate in self._pieces():
            if rate == 0:
                continue
            if end is not None:
                whole = used + usage_for(rate_per_day=rate, elapsed_us=_elapsed_us(start, end))
                if whole < target:
                    used = whole
                    continue
            elapsed_us = (target - used - 1) * MICROSECONDS_PER_DAY // rate + 1
            try:
                instant = start + timedelta(microseconds=elapsed_us)
            except OverflowError:
                return FAR_FUTURE
            return min(instant, FAR_FUTURE)
        return None

    def settle(self, at: datetime) -> tuple[Burn, int]:
        """Move the settlement to `at` (never backwards); returns the new state and the usage to post."""
        at = max(at, self.settled_at)
        usage = self.usage_due(at)
        settled = replace(self, balance=self.balance - usage, settled_at=at, segment_used=self.segment_used + usage)
        return settled, usage

    def _new_segment(self, rate_per_day: int, schedule: Iterable[RateStep]) -> Burn:
        """A new segment from the settlement instant, burning at `rate_per_day` then `schedule` (seen from there)."""
        rate, steps = _normalized(rate_per_day, schedule, start=self.settled_at)
        return replace(self, rate_per_day=rate, schedule=steps, segment_start=self.settled_at, segment_used=0)

    def change_rate(self, *, rate_per_day: int, at: datetime, schedule: Sequence[RateStep] = ()) -> tuple[Burn, int]:
        """Settle at the old rates up to `at`; from there the account burns at `rate_per_day`, then at each
        step of `schedule`, in a new segment. (If `at` is before the last settlement, the new burn starts at the
        settlement, at the rate it has then.)"""
        if rate_per_day < 0:
            raise BurnError("a burn rate is never negative")
        settled, usage = self.settle(at)
        return settled._new_segment(rate_per_day, schedule), usage

    def load(self, *, amount: int, at: datetime) -> tuple[Burn, int]:
        """Add credit at `at`. An empty balance starts burning again from `at`, not from where it stopped."""
        if amount <= 0:
            raise BurnError("credit loaded is positive")
        settled, usage = self.settle(at)
        if settled.balance == 0:
            settled = settled._new_segment(settled.rate_per_day, settled.schedule)
        return replace(settled, balance=settled.balance + amount, depleted=False), usage

    def adjust(self, *, amount: int, at: datetime) -> tuple[Burn, int]:
        """An operator's correction: a credit acts like a load; a debit never takes the balance below zero."""
        if amount > 0:
            return self.load(amount=amount, at=at)
        if amount == 0:
            raise BurnError("an adjustment moves money")
        settled, usage = self.settle(at)
        if settled.balance + amount < 0:
            raise InsufficientBalance(f"the balance is {settled.balance}, less than the debit of {-amount}")
        return replace(settled, balance=settled.balance + amount), usage

    def deplete(self) -> tuple[Burn, int]:
        """Settle at the run-out instant: the balance becomes exactly zero and nothing burns any more."""
        due = self.depletes_at()
        if due is None:
            raise BurnError("nothing is burning, so nothing depletes")
        settled, usage = self.settle(due)
        if settled.balance != 0:
            raise BurnError(f"the balance at the run-out instant is {settled.balance}, not zero")
        return replace(settled, depleted=True), usage


def burn_state(burn: Burn) -> BurnState:
    """The burn as `RunwayChanged.burn` carries it."""
    return BurnState(
        balance=burn.balance,
        settled_at=burn.settled_at,
        rate_per_day=burn.rate_per_day,
        segment_start=burn.segment_start,
        segment_used=burn.segment_used,
        depleted=burn.depleted,
        schedule=[BurnStep(effective_at=s.effective_at, rate_per_day=s.rate_per_day) for s in burn.schedule],
    )


def burn_of(state: BurnState) -> Burn:
    """The burn a `RunwayChanged.burn` describes, exactly."""
    return Burn(
        balance=state.balance,
        settled_at=state.settled_at,
        rate_per_day=state.rate_per_day,
        segment_start=state.segment_start,
        segment_used=state.segment_used,
        depleted=state.depleted,
        schedule=tuple(RateStep(effective_at=s.effective_at, rate_per_day=s.rate_per_day) for s in state.schedule),
    )


# --- what-if: the run-out a change of the contracts' rates would produce ------------------------------------


@dataclass(frozen=True)
class ReloadPlan:
    """Auto-iSC, as a forecast counts it: the account's setting, what it already reloaded in the month of the
    question (the monthly cap counts it), and whether the partner suspended it. None: no automatic reloads."""

    setting: ReloadSetting
    reloaded_this_month: int = 0
    suspended_by_partner: bool = False


@dataclass(frozen=True)
class Runway:
    rate_per_day: int
    depletes_at: datetime | None


def new_rates(
    burn: Burn, contracts: Iterable[ContractRates], *, at: datetime
) -> tuple[int, tuple[RateStep, ...]] | None:
    """The account's rates from `at` (the rate then and the steps after it) once its contracts are `contracts`,
    or None when they are the rates the burn already goes on with. The one rule both the wallet's RentalChanged
    (`wallet.service.apply_rental_change`) and the forecast (`rerated`) follow, so they cannot drift apart."""
    rates = account_rates(contracts, start=at)
    return None if rates == burn.rates_from(at) else rates


def rerated(burn: Burn, contracts: Iterable[ContractRates], *, at: datetime) -> Burn:
    """The burn after the account's contracts change to `contracts` at `at`, as the wallet changes it: a run-out
    already due is announced first, at its own instant (the wallet's `_catch_up_run_out`); unchanged rates leave
    the burn as it is, others settle at `at` and start a new segment."""
    at = max(at, burn.settled_at)
    due = burn.depletes_at()
    if due is not None and due <= at:
        burn, _ = burn.deplete()
    rates = new_rates(burn, contracts, at=at)
    if rates is None:
        return burn
    rate, schedule = rates
    changed, _ = burn.change_rate(rate_per_day=rate, schedule=schedule, at=at)
    return changed


def runway_of(burn: Burn, *, at: datetime, reload_plan: ReloadPlan | None = None) -> Runway:
    """The rate burning at `at` and the run-out, counting the reloads `reload_plan` would make before it: the
    wallet's own rules (`shared.auto_reload.planned_reloads`: at each crossing of the threshold, within the monthly
    cap, none while suspended), so the forecast's run-out is the one the wallet's reloads then produce."""
    rate = 0 if burn.depleted else burn.rate_at(at)
    depletes_at = burn.depletes_at()
    if reload_plan is not None and not burn.depleted:
        plan = planned_reloads(
            burn,
            setting=reload_plan.setting,
            now=at,
            until=FAR_FUTURE,
            reloaded_this_month=reload_plan.reloaded_this_month,
            suspended_by_partner=reload_plan.suspended_by_partner,
        )
        for _, reloaded in plan:
            depletes_at = reloaded.depletes_at()
    return Runway(rate_per_day=rate, depletes_at=depletes_at)
