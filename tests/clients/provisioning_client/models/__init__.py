""" Contains all the data models used in inputs/outputs """

from .device_read import DeviceRead
from .device_type import DeviceType
from .domain_create import DomainCreate
from .domain_read import DomainRead
from .enrolment import Enrolment
from .gateway_create import GatewayCreate
from .gateway_read import GatewayRead
from .health import Health
from .page_device_read import PageDeviceRead
from .page_domain_read import PageDomainRead
from .page_gateway_read import PageGatewayRead
from .page_provisioning_code_read import PageProvisioningCodeRead
from .problem import Problem
from .problem_code import ProblemCode
from .provisioning_code_create import ProvisioningCodeCreate
from .provisioning_code_issued import ProvisioningCodeIssued
from .provisioning_code_read import ProvisioningCodeRead
from .validation_issue import ValidationIssue
from .validation_problem import ValidationProblem

__all__ = (
    "DeviceRead",
    "DeviceType",
    "DomainCreate",
    "DomainRead",
    "Enrolment",
    "GatewayCreate",
    "GatewayRead",
    "Health",
    "PageDeviceRead",
    "PageDomainRead",
    "PageGatewayRead",
    "PageProvisioningCodeRead",
    "Problem",
    "ProblemCode",
    "ProvisioningCodeCreate",
    "ProvisioningCodeIssued",
    "ProvisioningCodeRead",
    "ValidationIssue",
    "ValidationProblem",
)
