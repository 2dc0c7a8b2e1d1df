from enum import StrEnum

class ContractStatus(StrEnum):
    ACTIVE = "active"
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"

    def __str__(self) -> str:
        return str(self.value)
