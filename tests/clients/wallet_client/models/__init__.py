""" Contains all the data models used in inputs/outputs """

from .account_create import AccountCreate
from .account_partner_read import AccountPartnerRead
from .account_read import AccountRead
from .account_read_status import AccountReadStatus
from .account_read_warning_thresholds_source import AccountReadWarningThresholdsSource
from .activation_key_read import ActivationKeyRead
from .activation_key_read_status import ActivationKeyReadStatus
from .adjustment_create import AdjustmentCreate
from .adjustment_create_direction import AdjustmentCreateDirection
from .adjustment_read import AdjustmentRead
from .auto_reload_read import AutoReloadRead
from .auto_reload_read_last_failure_reason_type_0 import AutoReloadReadLastFailureReasonType0
from .auto_reload_read_state import AutoReloadReadState
from .auto_reload_suspension_write import AutoReloadSuspensionWrite
from .auto_reload_write import AutoReloadWrite
from .contacts_read import ContactsRead
from .contacts_update import ContactsUpdate
from .email_notice_list import EmailNoticeList
from .email_notice_read import EmailNoticeRead
from .email_notice_read_status import EmailNoticeReadStatus
from .health import Health
from .issued_key import IssuedKey
from .key_batch_create import KeyBatchCreate
from .key_batch_read import KeyBatchRead
from .ledger_entry_read import LedgerEntryRead
from .ledger_entry_read_kind import LedgerEntryReadKind
from .notice_kind import NoticeKind
from .page_ledger_entry_read import PageLedgerEntryRead
from .page_reload_order_read import PageReloadOrderRead
from .page_test_clock_read import PageTestClockRead
from .page_webhook_delivery_read import PageWebhookDeliveryRead
from .partner_assignment_write import PartnerAssignmentWrite
from .problem import Problem
from .problem_code import ProblemCode
from .redemption_create import RedemptionCreate
from .redemption_read import RedemptionRead
from .reload_order_read import ReloadOrderRead
from .scheduled_rate_read import ScheduledRateRead
from .test_clock_advance import TestClockAdvance
from .test_clock_create import TestClockCreate
from .test_clock_read import TestClockRead
from .test_clock_read_status import TestClockReadStatus
from .validation_issue import ValidationIssue
from .validation_problem import ValidationProblem
from .warning_thresholds_write import WarningThresholdsWrite
from .webhook_attempt_read import WebhookAttemptRead
from .webhook_delivery_read import WebhookDeliveryRead
from .webhook_delivery_read_status import WebhookDeliveryReadStatus
from .webhook_endpoint_create import WebhookEndpointCreate
from .webhook_endpoint_created import WebhookEndpointCreated
from .webhook_endpoint_created_status import WebhookEndpointCreatedStatus
from .webhook_endpoint_list import WebhookEndpointList
from .webhook_endpoint_read import WebhookEndpointRead
from .webhook_endpoint_read_status import WebhookEndpointReadStatus
from .webhook_event_type import WebhookEventType

__all__ = (
    "AccountCreate",
    "AccountPartnerRead",
    "AccountRead",
    "AccountReadStatus",
    "AccountReadWarningThresholdsSource",
    "ActivationKeyRead",
    "ActivationKeyReadStatus",
    "AdjustmentCreate",
    "AdjustmentCreateDirection",
    "AdjustmentRead",
    "AutoReloadRead",
    "AutoReloadReadLastFailureReasonType0",
    "AutoReloadReadState",
    "AutoReloadSuspensionWrite",
    "AutoReloadWrite",
    "ContactsRead",
    "ContactsUpdate",
    "EmailNoticeList",
    "EmailNoticeRead",
    "EmailNoticeReadStatus",
    "Health",
    "IssuedKey",
    "KeyBatchCreate",
    "KeyBatchRead",
    "LedgerEntryRead",
    "LedgerEntryReadKind",
    "NoticeKind",
    "PageLedgerEntryRead",
    "PageReloadOrderRead",
    "PageTestClockRead",
    "PageWebhookDeliveryRead",
    "PartnerAssignmentWrite",
    "Problem",
    "ProblemCode",
    "RedemptionCreate",
    "RedemptionRead",
    "ReloadOrderRead",
    "ScheduledRateRead",
    "TestClockAdvance",
    "TestClockCreate",
    "TestClockRead",
    "TestClockReadStatus",
    "ValidationIssue",
    "ValidationProblem",
    "WarningThresholdsWrite",
    "WebhookAttemptRead",
    "WebhookDeliveryRead",
    "WebhookDeliveryReadStatus",
    "WebhookEndpointCreate",
    "WebhookEndpointCreated",
    "WebhookEndpointCreatedStatus",
    "WebhookEndpointList",
    "WebhookEndpointRead",
    "WebhookEndpointReadStatus",
    "WebhookEventType",
)
