from enum import StrEnum

class AccountReadWarningThresholdsSource(StrEnum):
    ACCOUNT = "account"
    DEFAULT = "default"

    def __str__(self) -> str:
        return str(self.value)
