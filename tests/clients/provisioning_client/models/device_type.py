from enum import StrEnum

class DeviceType(StrEnum):
    ATA = "ATA"
    CONFERENCE = "CONFERENCE"
    DECT = "DECT"
    GW = "GW"
    PHONE = "PHONE"

    def __str__(self) -> str:
        return str(self.value)
