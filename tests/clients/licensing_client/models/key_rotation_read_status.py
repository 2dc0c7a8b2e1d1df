from enum import StrEnum

class KeyRotationReadStatus(StrEnum):
    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    SUPERSEDED = "superseded"

    def __str__(self) -> str:
        return str(self.value)
