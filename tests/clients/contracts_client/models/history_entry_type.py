from enum import StrEnum

class HistoryEntryType(StrEnum):
    AUTORELOADFAILED = "AutoReloadFailed"
    AUTORELOADTRIGGERED = "AutoReloadTriggered"
    BALANCEDEPLETED = "BalanceDepleted"
    BALANCELOW = "BalanceLow"
    BALANCERESTORED = "BalanceRestored"
    CONTRACTACCEPTED = "ContractAccepted"
    CONTRACTACTIVATED = "ContractActivated"
    CONTRACTOPENED = "ContractOpened"
    CONTRACTRESUMED = "ContractResumed"
    CONTRACTSUSPENDED = "ContractSuspended"
    CONTRACTTERMINATED = "ContractTerminated"
    CREDITSLOADED = "CreditsLoaded"
    DEVICEACTIVATED = "DeviceActivated"
    DEVICEDEACTIVATED = "DeviceDeactivated"
    DEVICEREPLACED = "DeviceReplaced"
    DOMAINLINKED = "DomainLinked"
    DOMAINUNLINKED = "DomainUnlinked"
    RENTALCHANGED = "RentalChanged"
    SOFTWARERENTALCHANGED = "SoftwareRentalChanged"
    SOFTWARERENTALENDED = "SoftwareRentalEnded"
    SOFTWARERENTALSTARTED = "SoftwareRentalStarted"
    TARIFFCHANGED = "TariffChanged"
    TARIFFCHANGESCHEDULED = "TariffChangeScheduled"

    def __str__(self) -> str:
        return str(self.value)
