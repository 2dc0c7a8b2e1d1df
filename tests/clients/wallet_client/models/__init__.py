""" Contains all the data models used in inputs/outputs """

from .account_create import AccountCreate
from .account_read import AccountRead
from .account_read_status import AccountReadStatus
from .account_read_warning_thresholds_source import AccountReadWarningThresholdsSource
from .activation_key_read import ActivationKeyRead
from .activation_key_read_status import ActivationKeyReadStatus
from .adjustment_create import AdjustmentCreate
from .adjustment_create_direction import AdjustmentCreateDirection
from .adjustment_read import AdjustmentRead
from .health import Health
from .issued_key import IssuedKey
from .key_batch_create import KeyBatchCreate
from .key_batch_read import KeyBatchRead
from .ledger_entry_read import LedgerEntryRead
from .ledger_entry_read_kind import LedgerEntryReadKind
from .page_ledger_entry_read import PageLedgerEntryRead
from .problem import Problem
from .problem_code import ProblemCode
from .redemption_create import RedemptionCreate
from .redemption_read import RedemptionRead
from .scheduled_rate_read import ScheduledRateRead
from .validation_issue import ValidationIssue
from .validation_problem import ValidationProblem
from .warning_thresholds_write import WarningThresholdsWrite

__all__ = (
    "AccountCreate",
    "AccountRead",
    "AccountReadStatus",
    "AccountReadWarningThresholdsSource",
    "ActivationKeyRead",
    "ActivationKeyReadStatus",
    "AdjustmentCreate",
    "AdjustmentCreateDirection",
    "AdjustmentRead",
    "Health",
    "IssuedKey",
    "KeyBatchCreate",
    "KeyBatchRead",
    "LedgerEntryRead",
    "LedgerEntryReadKind",
    "PageLedgerEntryRead",
    "Problem",
    "ProblemCode",
    "RedemptionCreate",
    "RedemptionRead",
    "ScheduledRateRead",
    "ValidationIssue",
    "ValidationProblem",
    "WarningThresholdsWrite",
)
