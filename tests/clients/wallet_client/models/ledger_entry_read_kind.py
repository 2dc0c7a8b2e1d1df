from enum import StrEnum

class LedgerEntryReadKind(StrEnum):
    ADJUSTMENT = "adjustment"
    AUTO_RELOAD = "auto_reload"
    REDEMPTION = "redemption"
    USAGE = "usage"

    def __str__(self) -> str:
        return str(self.value)
