"""`make run REPLICAS=N`: the Procfile it hands to honcho starts N replicas of every service on separate ports."""

from __future__ import annotations

import re

import pytest
from honcho.environ import parse_procfile

from contracts.config import Settings as ContractsSettings
from license_distributor.config import Settings as LicenseDistributorSettings
from provisioning.config import Settings as ProvisioningSettings
from scripts.run_local import REPLICA_PORT_STEP, procfile
from shared.config import ServiceSettings
from wallet.config import Settings as WalletSettings

SERVICES: list[tuple[str, str, type[ServiceSettings]]] = [
    ("wallet", "wallet", WalletSettings),
    ("contracts", "contracts", ContractsSettings),
    ("provisioning", "provisioning", ProvisioningSettings),
    ("license-distributor", "license_distributor", LicenseDistributorSettings),
]


@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_make_run_starts_every_replica_of_every_service_on_its_own_port_with_its_own_role(replicas: int) -> None:
    # Parsed exactly as honcho parses it: a line it cannot read would silently start nothing.
    processes = parse_procfile(procfile(replicas, "rental", "127.0.0.1", 5432)).processes
    ports: set[int] = set()
    for name, package, settings_cls in SERVICES:
        settings = settings_cls()
        prefix = str(settings_cls.model_config.get("env_prefix"))
        labels = [name] if replicas == 1 else [f"{name}-{r + 1}" for r in range(replicas)]
        for replica, label in enumerate(labels):
            command = processes[label]
            assert command.endswith(f" -m {package}"), command
            port = int(re.search(rf"\b{prefix}HTTP_PORT=(\d+)", command).group(1))  # type: ignore[union-attr]
            assert port == settings.http_port + REPLICA_PORT_STEP * replica
            role = settings.database_schema
            assert f"{prefix}DATABASE_URL=postgresql://{role}:{role}@127.0.0.1:5432/rental" in command
            ports.add(port)
    assert len(ports) == replicas * len(SERVICES)


def test_make_run_starts_an_smtp_sink_where_the_wallet_sends_and_lets_local_webhook_receivers_in() -> None:
    processes = parse_procfile(procfile(1, "rental", "127.0.0.1", 5432)).processes
    settings = WalletSettings()
    assert processes["smtp-sink"].endswith(f"-m scripts.smtp_sink --smtp-port {settings.smtp_port} --http-port 8025")
    assert settings.smtp_host == "127.0.0.1"
    assert "WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in processes["wallet"]
    assert not settings.webhook_allow_private_targets
