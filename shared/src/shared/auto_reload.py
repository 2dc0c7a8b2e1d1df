"""Auto-iSC rules, free of I/O: when a reload is due, whether the monthly cap allows it, and when reloads would
happen ahead (for a forecast).

The trigger is time left, not amount: a reload is due at the instant the time left falls to the threshold, that is
the run-out minus the threshold. The run-out is whatever the caller's runway says (the wallet's `Burn`: piecewise
over the scheduled rates), so the trigger is evaluated by the same code as the run-out itself. A reload that leaves
the time left still under the threshold is followed at once by another (a new crossing), until the time left is
above it or the monthly cap refuses one; a crossing the cap refused is tried again when the next month starts.

Lives in `shared` (pure, no service imported) so the wallet's scheduler and a forecast in another service agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, Self, TypeVar

# Why a due reload did not happen (`AutoReloadFailed.reason`).
FailureReason = Literal["monthly_cap_reached", "suspended_by_partner"]
# A reload is never planned further ahead than this many at once (a guard for a forecast over a long horizon).
MAX_PLANNED = 1000


class Runway(Protocol):
    """What the rules need of a balance burning along its rates: its run-out and a load (the wallet's `Burn`)."""

    def depletes_at(self) -> datetime | None: ...

    def load(self, *, amount: int, at: datetime) -> tuple[Self, int]: ...


R = TypeVar("R", bound=Runway)


@dataclass(frozen=True)
class ReloadSetting:
    """An account's Auto-iSC: `amount` (micro-iSC) is loaded when the time left falls to `threshold_s`, at most
    `monthly_cap` (micro-iSC) per calendar month (UTC)."""

    threshold_s: int
    amount: int
    monthly_cap: int


@dataclass(frozen=True)
class PlannedReload:
    at: datetime
    amount: int
    # The run-out right after the reload.
    depletes_at: datetime | None


@dataclass(frozen=True)
class PlannedFailure:
    at: datetime
    reason: FailureReason


def due_at(*, depletes_at: datetime | None, threshold_s: int) -> datetime | None:
    """The instant the time left falls to the threshold; None while nothing burns (or the account is depleted)."""
    if depletes_at is None:
        return None
    try:
        return depletes_at - timedelta(seconds=threshold_s)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def month_start(at: datetime) -> datetime:
    """The start of `at`'s calendar month in UTC: the monthly cap counts reloads from here."""
    utc = at.astimezone(UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(at: datetime) -> datetime:
    """The start of the calendar month (UTC) after `at`'s: the monthly cap counts afresh from here."""
    start = month_start(at)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def retried_at(reason: FailureReason, *, at: datetime) -> datetime | None:
    """When a crossing refused at `at` is tried again although the runway has not changed: a cap's refusal when the
    next month starts (its cap counts afresh), a partner's suspension never (ending it re-evaluates the crossing)."""
    return next_month_start(at) if reason == "monthly_cap_reached" else None


def cap_allows(*, reloaded_this_month: int, amount: int, monthly_cap: int) -> bool:
    """Whether one more reload of `amount` stays within the month's cap."""
    return reloaded_this_month + amount <= monthly_cap


def refusal(*, setting: ReloadSetting, reloaded_this_month: int, suspended_by_partner: bool) -> FailureReason | None:
    """Why a due reload must not happen, or None when it may."""
    if suspended_by_partner:
        return "suspended_by_partner"
    if not cap_allows(reloaded_this_month=reloaded_this_month, amount=setting.amount, monthly_cap=setting.monthly_cap):
        return "monthly_cap_reached"
    return None


def planned_reloads(
    runway: R,
    *,
    setting: ReloadSetting,
    now: datetime,
    until: datetime,
    reloaded_this_month: int = 0,
    suspended_by_partner: bool = False,
) -> Iterator[tuple[PlannedReload | PlannedFailure, R]]:
    """The reloads that would happen from `now` to `until`, each with the runway right after it, in order, and each
    refusal (`PlannedFailure`) on the way. After the cap refuses, the same crossing is tried again when the next
    month starts, if the balance lasts until then (`retried_at`); after a partner's suspension refuses, nothing
    reloads until something changes. `reloaded_this_month` is what was already reloaded in `now`'s month. The last
    runway yielded is the one that runs out (or burns past `until`)."""
    month, reloaded = month_start(now), reloaded_this_month
    for _ in range(MAX_PLANNED):
        depletes_at = runway.depletes_at()
        due = due_at(depletes_at=depletes_at, threshold_s=setting.threshold_s)
        if due is None or due > until:
            return
        at = max(due, now)
        if month_start(at) != month:
            month, reloaded = month_start(at), 0
        reason = refusal(setting=setting, reloaded_this_month=reloaded, suspended_by_partner=suspended_by_partner)
        if reason is not None:
            yield PlannedFailure(at=at, reason=reason), runway
            retry = retried_at(reason, at=at)
            if retry is None or retry > until or (depletes_at is not None and retry >= depletes_at):
                return
            now = retry
            continue
        runway, _ = runway.load(amount=setting.amount, at=at)
        reloaded += setting.amount
        now = at
        yield PlannedReload(at=at, amount=setting.amount, depletes_at=runway.depletes_at()), runway
