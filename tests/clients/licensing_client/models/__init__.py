""" Contains all the data models used in inputs/outputs """

from .bundle_content_read import BundleContentRead
from .bundle_read import BundleRead
from .domain_licences_read import DomainLicencesRead
from .gateway_licence_read import GatewayLicenceRead
from .health import Health
from .jwk_read import JwkRead
from .jwks_read import JwksRead
from .key_revocation_read import KeyRevocationRead
from .key_rotation_read import KeyRotationRead
from .key_rotation_read_status import KeyRotationReadStatus
from .licence_read import LicenceRead
from .licensed_device_read import LicensedDeviceRead
from .problem import Problem
from .problem_code import ProblemCode
from .pull_challenge_read import PullChallengeRead
from .validation_issue import ValidationIssue
from .validation_problem import ValidationProblem

__all__ = (
    "BundleContentRead",
    "BundleRead",
    "DomainLicencesRead",
    "GatewayLicenceRead",
    "Health",
    "JwkRead",
    "JwksRead",
    "KeyRevocationRead",
    "KeyRotationRead",
    "KeyRotationReadStatus",
    "LicenceRead",
    "LicensedDeviceRead",
    "Problem",
    "ProblemCode",
    "PullChallengeRead",
    "ValidationIssue",
    "ValidationProblem",
)
