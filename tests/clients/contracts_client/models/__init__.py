""" Contains all the data models used in inputs/outputs """

from .contract_create import ContractCreate
from .contract_read import ContractRead
from .contract_status import ContractStatus
from .deactivation_create import DeactivationCreate
from .device_type import DeviceType
from .domain_link_create import DomainLinkCreate
from .forecast_create import ForecastCreate
from .forecast_read import ForecastRead
from .hardware_item import HardwareItem
from .health import Health
from .history_data import HistoryData
from .history_entry_read import HistoryEntryRead
from .history_entry_type import HistoryEntryType
from .licence_spec import LicenceSpec
from .page_contract_read import PageContractRead
from .page_hardware_item import PageHardwareItem
from .page_history_entry_read import PageHistoryEntryRead
from .page_rental_read import PageRentalRead
from .page_software_rental_read import PageSoftwareRentalRead
from .page_software_tariff_read import PageSoftwareTariffRead
from .page_tariff_read import PageTariffRead
from .problem import Problem
from .problem_code import ProblemCode
from .rental_create import RentalCreate
from .rental_read import RentalRead
from .rental_status import RentalStatus
from .replacement_create import ReplacementCreate
from .replacement_plan import ReplacementPlan
from .runway_forecast import RunwayForecast
from .scheduled_software_tariff_read import ScheduledSoftwareTariffRead
from .scheduled_tariff_read import ScheduledTariffRead
from .software_count_change import SoftwareCountChange
from .software_plan import SoftwarePlan
from .software_rental_create import SoftwareRentalCreate
from .software_rental_end import SoftwareRentalEnd
from .software_rental_read import SoftwareRentalRead
from .software_rental_status import SoftwareRentalStatus
from .software_tariff_read import SoftwareTariffRead
from .software_tariff_write import SoftwareTariffWrite
from .tariff_read import TariffRead
from .tariff_write import TariffWrite
from .termination_create import TerminationCreate
from .validation_issue import ValidationIssue
from .validation_problem import ValidationProblem

__all__ = (
    "ContractCreate",
    "ContractRead",
    "ContractStatus",
    "DeactivationCreate",
    "DeviceType",
    "DomainLinkCreate",
    "ForecastCreate",
    "ForecastRead",
    "HardwareItem",
    "Health",
    "HistoryData",
    "HistoryEntryRead",
    "HistoryEntryType",
    "LicenceSpec",
    "PageContractRead",
    "PageHardwareItem",
    "PageHistoryEntryRead",
    "PageRentalRead",
    "PageSoftwareRentalRead",
    "PageSoftwareTariffRead",
    "PageTariffRead",
    "Problem",
    "ProblemCode",
    "RentalCreate",
    "RentalRead",
    "RentalStatus",
    "ReplacementCreate",
    "ReplacementPlan",
    "RunwayForecast",
    "ScheduledSoftwareTariffRead",
    "ScheduledTariffRead",
    "SoftwareCountChange",
    "SoftwarePlan",
    "SoftwareRentalCreate",
    "SoftwareRentalEnd",
    "SoftwareRentalRead",
    "SoftwareRentalStatus",
    "SoftwareTariffRead",
    "SoftwareTariffWrite",
    "TariffRead",
    "TariffWrite",
    "TerminationCreate",
    "ValidationIssue",
    "ValidationProblem",
)
