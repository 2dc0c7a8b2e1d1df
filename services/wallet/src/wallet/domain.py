"""Wallet rules, free of I/O: burn-down arithmetic, ledger postings, activation codes, low-balance warnings.

Every function takes the instant it reasons about (`at`, `now`); nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shared.money import SECONDS_PER_DAY, format_isc
from shared.refusals import Conflict, Unprocessable
from shared.sealing import NONCE_BYTES, KeyEncryptionKey, SealingError

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


# --- The double-entry ledger --------------------------------------------------------------------------


class Book(StrEnum):
    """Ledger books. The customer's wallet is a liability; keys issued fund it; usage earned drains it."""

    CUSTOMER_WALLET = "customer_wallet"
    KEYS_ISSUED = "keys_issued"
    USAGE_EARNED = "usage_earned"
    ADJUSTMENTS = "adjustments"
    # Auto-iSC reloads: credited at once, owed by the account's partner under its standing order (reload_order).
    RELOAD_ORDERS = "reload_orders"


class EntryKind(StrEnum):
    REDEMPTION = "redemption"
    USAGE = "usage"
    ADJUSTMENT = "adjustment"
    AUTO_RELOAD = "auto_reload"


@dataclass(frozen=True)
class Posting:
    """One ledger entry: its lines always sum to zero (the database checks it again at commit)."""

    kind: EntryKind
    lines: tuple[tuple[Book, int], ...]

    def __post_init__(self) -> None:
        if sum(amount for _, amount in self.lines) != 0:
            raise BurnError(f"a posting sums to zero: {self.lines}")
        if any(amount == 0 for _, amount in self.lines):
            raise BurnError("a posting line moves money")

    @property
    def wallet_change(self) -> int:
        return sum(amount for book, amount in self.lines if book is Book.CUSTOMER_WALLET)


def redemption_posting(amount: int) -> Posting:
    return Posting(EntryKind.REDEMPTION, ((Book.CUSTOMER_WALLET, amount), (Book.KEYS_ISSUED, -amount)))


def adjustment_posting(amount: int) -> Posting:
    """`amount` > 0 credits the customer, < 0 debits; the other side is the adjustments book."""
    return Posting(EntryKind.ADJUSTMENT, ((Book.CUSTOMER_WALLET, amount), (Book.ADJUSTMENTS, -amount)))


def auto_reload_posting(amount: int) -> Posting:
    """An Auto-iSC reload: the customer is credited, the reload orders book (the partner's to invoice) owes it."""
    return Posting(EntryKind.AUTO_RELOAD, ((Book.CUSTOMER_WALLET, amount), (Book.RELOAD_ORDERS, -amount)))


def usage_posting(amount: int) -> Posting:
    return Posting(EntryKind.USAGE, ((Book.CUSTOMER_WALLET, -amount), (Book.USAGE_EARNED, amount)))


# --- Auto-iSC preconditions ---------------------------------------------------------------------------

# At least this many days' worth at the current rate loaded by hand before Auto-iSC may be set.
MANUAL_DAYS_BEFORE_AUTO_RELOAD = 30


class AutoReloadNeedsActiveContract(Conflict):
    code, title = "auto_reload_needs_active_contract", "Auto-iSC needs an active contract"


class AutoReloadNeedsManualLoads(Conflict):
    code, title = "auto_reload_needs_manual_loads", "Auto-iSC needs a month loaded by hand"


def check_auto_reload_allowed(*, has_active_contract: bool, rate_per_day: int, loaded_manually: int) -> None:
    """Auto-iSC is possible once a rental contract is active and at least 30 days' worth at the current rate (and
    something at all, when nothing burns yet) was loaded by hand (redeemed keys)."""
    if not has_active_contract:
        raise AutoReloadNeedsActiveContract("Auto-iSC needs an active rental contract on the account")
    needed = max(1, rate_per_day * MANUAL_DAYS_BEFORE_AUTO_RELOAD)
    if loaded_manually < needed:
        raise AutoReloadNeedsManualLoads(
            f"Auto-iSC needs at least {MANUAL_DAYS_BEFORE_AUTO_RELOAD} days' worth at the current rate loaded by hand",
            needed=format_isc(needed),
            loaded=format_isc(loaded_manually),
        )


# --- Activation codes ---------------------------------------------------------------------------------

# Crockford's base32: no I, L, O, U, so what is read aloud or typed is hard to confuse.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_VALUES = {symbol: value for value, symbol in enumerate(CODE_ALPHABET)}
_CODE_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# 24 random symbols = 120 bits: guessing is hopeless even before the rate limit.
CODE_BODY_LENGTH = 24
CODE_LENGTH = CODE_BODY_LENGTH + 1
CODE_GROUP = 5


class MalformedCode(Unprocessable):
    """Not an activation code at all: wrong length or symbols."""

    code = "code_malformed"


class MistypedCode(Unprocessable):
    """The right shape but the check character does not match: almost surely a typo."""

    code = "code_mistyped"


def _luhn_mod_n_sum(symbols: str, *, start_factor: int) -> int:
    """Luhn mod N over the alphabet: catches every single-symbol error and most adjacent swaps."""
    n = len(CODE_ALPHABET)
    factor, total = start_factor, 0
    for symbol in reversed(symbols):
        addend = factor * _CODE_VALUES[symbol]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return total


def check_symbol(body: str) -> str:
    n = len(CODE_ALPHABET)
    return CODE_ALPHABET[(n - _luhn_mod_n_sum(body, start_factor=2) % n) % n]


def format_code(canonical: str) -> str:
    return "-".join(canonical[i : i + CODE_GROUP] for i in range(0, len(canonical), CODE_GROUP))


def new_activation_code() -> str:
    """A fresh code, grouped for reading: `XXXXX-XXXXX-XXXXX-XXXXX-XXXXC` (C: the check symbol)."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_BODY_LENGTH))
    return format_code(body + check_symbol(body))


def canonical_code(text: str) -> str:
    """What the customer typed, as the 25 symbols that were issued; tells a typo from garbage."""
    symbols = "".join(text.split()).replace("-", "").upper().translate(_CODE_ALIASES)
    if len(symbols) != CODE_LENGTH or any(symbol not in _CODE_VALUES for symbol in symbols):
        raise MalformedCode(
            f"an activation code has {CODE_LENGTH} symbols from {CODE_ALPHABET} (hyphens and spaces are ignored)"
        )
    if _luhn_mod_n_sum(symbols, start_factor=1) % len(CODE_ALPHABET) != 0:
        raise MistypedCode("the code's check symbol does not match: a symbol is probably mistyped")
    return symbols


def code_hash(canonical: str) -> bytes:
    """Only this is stored. A plain SHA-256 suffices: the codes carry 120 random bits, not a password."""
    return hashlib.sha256(canonical.encode()).digest()


# --- Low-balance warnings -----------------------------------------------------------------------------

_DAY_S = SECONDS_PER_DAY
DEFAULT_LOW_BALANCE_THRESHOLDS_S: tuple[int, ...] = (
    *(weeks * 7 * _DAY_S for weeks in range(7, 0, -1)),
    3 * _DAY_S,
    1 * _DAY_S,
)


@dataclass(frozen=True)
class LowBalanceCheck:
    # The threshold to announce now, if any.
    warn_threshold_s: int | None
    # The smallest threshold already announced (or passed over) in this run-down.
    warned_threshold_s: int | None
    # When the next threshold is reached at the current run-out, if one is left.
    next_check_at: datetime | None


def check_low_balance(
    *, thresholds_s: Sequence[int], depletes_at: datetime | None, now: datetime, warned_threshold_s: int | None
) -> LowBalanceCheck:
    """Which warning is due. Each threshold is announced once per run-down: when the time left falls to it.

    When the time left falls past several thresholds at once (a big rate increase), only the tightest is
    announced. When credit pushes the time left back above announced thresholds, those below the new time
    left are due again; the ones it is still under are not repeated.
    """
    if depletes_at is None:
        return LowBalanceCheck(warn_threshold_s=None, warned_threshold_s=None, next_check_at=None)
    time_left = max(depletes_at - now, timedelta(0))
    crossed = sorted(t for t in thresholds_s if timedelta(seconds=t) >= time_left)
    warned = warned_threshold_s
    if warned is not None and time_left > timedelta(seconds=warned):
        warned = crossed[0] if crossed else None
    warn = None
    if crossed and (warned is None or crossed[0] < warned):
        warn = warned = crossed[0]
    pending = [t for t in thresholds_s if timedelta(seconds=t) < time_left]
    next_check_at = depletes_at - timedelta(seconds=max(pending)) if pending else None
    return LowBalanceCheck(warn_threshold_s=warn, warned_threshold_s=warned, next_check_at=next_check_at)


class WarningThresholdsOutOfBounds(Unprocessable):
    """An account's warning ladder outside what the deployment allows."""

    code, title = "warning_thresholds_out_of_bounds", "Warning thresholds out of bounds"


def checked_thresholds(thresholds_s: Sequence[int], *, min_s: int, max_s: int, max_count: int) -> tuple[int, ...]:
    """An account's own ladder, largest first (duplicates dropped), if every threshold is within the bounds."""
    ladder = tuple(sorted(set(thresholds_s), reverse=True))
    if not 1 <= len(ladder) <= max_count:
        raise WarningThresholdsOutOfBounds(
            f"a ladder has 1 to {max_count} thresholds", min_s=min_s, max_s=max_s, max_count=max_count
        )
    outside = [t for t in ladder if not min_s <= t <= max_s]
    if outside:
        raise WarningThresholdsOutOfBounds(
            f"every threshold is between {min_s} s and {max_s} s; not {outside}",
            outside=outside,
            min_s=min_s,
            max_s=max_s,
            max_count=max_count,
        )
    return ladder


def warning_instants(*, depletes_at: datetime | None, thresholds_s: Sequence[int]) -> list[datetime]:
    """The ladder as instants (the run-out minus each threshold), ascending; empty when nothing burns. Instants
    already past are kept: they say which warnings are due at once."""
    if depletes_at is None:
        return []
    instants = set()
    for threshold in thresholds_s:
        try:
            instants.add(depletes_at - timedelta(seconds=threshold))
        except OverflowError:
            continue
    return sorted(instants)


# --- answers shown once, kept sealed for a retry (a key batch's codes, a webhook endpoint's secret) -----------

# How long such an answer can be shown again to whoever got it first (a retry whose first answer was lost).
SHOWN_ANSWER_KEPT = timedelta(hours=24)
SHOWN_CODES_KEPT = SHOWN_ANSWER_KEPT


@dataclass(frozen=True)
class SealedAnswer:
    """`shared.sealing`'s sealed text split as the wallet stores it: the nonce and the ciphertext with its tag."""

    nonce: bytes
    sealed: bytes


def seal_answer(key: KeyEncryptionKey, answer: bytes, *, associated: bytes) -> SealedAnswer:
    """AES-256-GCM with a fresh random nonce (`shared.sealing`)."""
    sealed = key.seal(answer, associated=associated)
    return SealedAnswer(nonce=sealed[:NONCE_BYTES], sealed=sealed[NONCE_BYTES:])


def open_answer(key: KeyEncryptionKey, answer: SealedAnswer, *, associated: bytes) -> bytes | None:
    """The first answer, or None if it cannot be opened (another key, another row or owner, tampered)."""
    try:
        return key.open(answer.nonce + answer.sealed, associated=associated)
    except SealingError:
        return None


def _batch_associated(batch_id: object, issued_by: str) -> bytes:
    # A sealed batch opens only as the batch and for the partner it was sealed for: a row moved to another
    # batch or partner fails its tag. (The format of the rows sealed before `shared.sealing`: they still open.)
    return f"{batch_id}\n{issued_by}".encode()


def seal_codes(key: KeyEncryptionKey, *, batch_id: object, issued_by: str, answer: bytes) -> SealedAnswer:
    return seal_answer(key, answer, associated=_batch_associated(batch_id, issued_by))


def open_codes(key: KeyEncryptionKey, *, batch_id: object, issued_by: str, codes: SealedAnswer) -> bytes | None:
    return open_answer(key, codes, associated=_batch_associated(batch_id, issued_by))


def webhook_secret_associated(endpoint_id: object, registered_by: str) -> bytes:
    # Prefixed, so a webhook registration's sealed answer never opens as a key batch's, nor the other way round.
    return f"webhook-endpoint\n{endpoint_id}\n{registered_by}".encode()
