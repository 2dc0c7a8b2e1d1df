"""docker-compose.yml, the system map, against the Compose Specification's JSON schema and the services' settings.

The schema is the compose-spec project's own `compose-spec.json`, as vendored (with its licence) by the
`check-jsonschema` package from PyPI; no Docker engine is needed.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from contracts.config import Settings as ContractsSettings
from license_distributor.config import Settings as LicensingSettings
from provisioning.config import Settings as ProvisioningSettings
from shared.config import ServiceSettings
from wallet.config import Settings as WalletSettings

ROOT = Path(__file__).resolve().parents[3]
SERVICES: list[tuple[str, type[ServiceSettings]]] = [
    ("wallet", WalletSettings),
    ("contracts", ContractsSettings),
    ("provisioning", ProvisioningSettings),
    ("license-distributor", LicensingSettings),
]


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


def compose_file() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_docker_compose_validates_against_the_compose_specification() -> None:
    schema = compose_schema()
    assert schema["title"] == "Compose Specification"
    jsonschema.validate(compose_file(), schema, cls=jsonschema.Draft202012Validator)


def test_the_compose_schema_rejects_a_misspelt_service_field() -> None:
    document = compose_file()
    document["services"]["wallet"]["helthcheck"] = document["services"]["wallet"].pop("healthcheck")
    with pytest.raises(jsonschema.ValidationError, match="helthcheck"):
        jsonschema.validate(document, compose_schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(("name", "settings_cls"), SERVICES)
def test_every_compose_service_uses_its_own_role_port_and_a_readiness_health_check(
    name: str, settings_cls: type[ServiceSettings]
) -> None:
    settings = settings_cls()
    prefix = str(settings_cls.model_config.get("env_prefix"))
    service = compose_file()["services"][name]
    assert service["build"]["args"]["SERVICE"] == name
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    role = settings.database_schema
    assert service["environment"][f"{prefix}DATABASE_URL"] == f"postgresql://{role}:{role}@postgres:5432/rental"
    assert service["ports"] == [f"{settings.http_port}:{settings.http_port}"]
    assert f"127.0.0.1:{settings.http_port}/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
