"""Wallet rules, free of I/O: burn-down arithmetic, ledger postings, activation codes, low-balance warnings.

Every function takes the instant it reasons about (`at`, `now`); nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.burn import (
    FAR_FUTURE as FAR_FUTURE,
)
from shared.burn import (
    MICROSECONDS_PER_DAY as MICROSECONDS_PER_DAY,
)
from shared.burn import (
    Burn as Burn,
)
from shared.burn import (
    BurnError as BurnError,
)
from shared.burn import (
    ContractRates as ContractRates,
)
from shared.burn import (
    InsufficientBalance as InsufficientBalance,
)
from shared.burn import (
    RateStep as RateStep,
)
from shared.burn import (
    account_rates as account_rates,
)
from shared.burn import (
    new_rates as new_rates,
)
from shared.burn import (
    usage_for as usage_for,
)
from shared.money import SECONDS_PER_DAY, format_isc
from shared.refusals import Conflict, Unprocessable
from shared.sealing import NONCE_BYTES, KeyEncryptionKey, SealingError

# The burn-down arithmetic is shared with contracts' forecast (`shared.burn`); the wallet's rules use it from here.
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
