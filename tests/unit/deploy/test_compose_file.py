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
from license_distributor.config import Settings as LicenseDistributorSettings
from provisioning.config import Settings as ProvisioningSettings
from shared.config import ServiceSettings
from wallet.config import Settings as WalletSettings

ROOT = Path(__file__).resolve().parents[3]
SERVICES: list[tuple[str, type[ServiceSettings]]] = [
    ("wallet", WalletSettings),
    ("contracts", ContractsSettings),
    ("provisioning", ProvisioningSettings),
    ("license-distributor", LicenseDistributorSettings),
]


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema: dict[str, Any] = json.loads(vendored.read_text())
    return schema


def compose_file(path: str = "docker-compose.yml") -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / path).read_text())
    return document


HOST_NETWORK = "deploy/compose/host-network.yml"
OVERRIDES = ["docker-compose.override.yml", HOST_NETWORK]


def test_docker_compose_validates_against_the_compose_specification() -> None:
    schema = compose_schema()
    assert schema["title"] == "Compose Specification"
    jsonschema.validate(compose_file(), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("path", OVERRIDES)
def test_the_override_files_validate_and_name_only_services_of_the_system_map(path: str) -> None:
    override = compose_file(path)
    jsonschema.validate(override, compose_schema(), cls=jsonschema.Draft202012Validator)
    assert set(override["services"]) <= set(compose_file()["services"])


def test_host_networking_puts_every_container_on_the_host_and_publishes_no_port() -> None:
    # Host networking refuses published ports (Compose v1 fails outright), so only the default override has them.
    base, host = compose_file(), compose_file(HOST_NETWORK)
    assert set(host["services"]) == set(base["services"])
    for name, service in base["services"].items():
        assert "ports" not in service, name
        assert host["services"][name]["network_mode"] == "host", name
        assert "ports" not in host["services"][name], name


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
    assert compose_file("docker-compose.override.yml")["services"][name]["ports"] == [
        f"{settings.http_port}:{settings.http_port}"
    ]
    assert f"127.0.0.1:{settings.http_port}/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    # Its migration step runs first, from the same image, and the service itself does not migrate.
    migrate = compose_file()["services"][f"{name}-migrate"]
    assert service["depends_on"][f"{name}-migrate"]["condition"] == "service_completed_successfully"
    assert migrate["image"] == service["image"]
    assert migrate["command"][-1] == "migrate"
    assert migrate["environment"][f"{prefix}DATABASE_URL"] == service["environment"][f"{prefix}DATABASE_URL"]
    assert service["environment"]["RENTAL_MIGRATE_ON_START"] == "false"
    # Non-root (the image's user), read-only root filesystem, a writable /tmp.
    for container in (service, migrate):
        assert container["read_only"] is True
        assert container["tmpfs"] == ["/tmp"]  # noqa: S108 (a path inside the container)
        assert "user" not in container
