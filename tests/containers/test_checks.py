"""The checks of `make test-containers` fail when they should (no engine needed: inspect data as Docker gives it)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from tests.containers.engine import COUNTERS, Engine
from tests.containers.run import Failed, Platform, check_hardening, wait_until_healthy

EXPECTED = [
    "postgres",
    "rabbitmq",
    "dev-oidc",
    "web",
    *[s for name in ("wallet", "contracts", "provisioning", "license-distributor") for s in (name, f"{name}-migrate")],
]


def container(service: str, *, user: str = "10001:10001", read_only: bool = True, **state: Any) -> dict[str, Any]:
    if service.endswith("-migrate"):
        default_state: dict[str, Any] = {"Status": "exited", "ExitCode": 0}
    else:
        default_state = {"Status": "running", "Health": {"Status": "healthy", "Log": [{"ExitCode": 0}]}}
    return {
        "Id": service,
        "Config": {"User": user, "Labels": {"com.docker.compose.service": service}},
        "HostConfig": {"ReadonlyRootfs": read_only, "Tmpfs": {"/tmp": ""}},  # noqa: S108 - inside the container
        "State": {**default_state, **state},
    }


class Listed:
    """A platform whose `containers()` answers what a test gives it."""

    def __init__(self, *containers: dict[str, Any]) -> None:
        self.listed = list(containers)

    def containers(self) -> list[dict[str, Any]]:
        return self.listed


def test_every_container_healthy_and_every_step_done_is_ready() -> None:
    platform = cast(Platform, Listed(*[container(name) for name in EXPECTED]))
    assert len(wait_until_healthy(platform, within_s=1)) == len(EXPECTED)


def test_a_failed_migration_step_fails_at_once() -> None:
    listed = [container(name) for name in EXPECTED if name != "wallet-migrate"]
    platform = cast(Platform, Listed(*listed, container("wallet-migrate", ExitCode=1)))
    with pytest.raises(Failed, match="wallet-migrate exited 1"):
        wait_until_healthy(platform, within_s=30)


def test_an_unhealthy_or_missing_container_fails_at_the_deadline() -> None:
    listed = [container(name) for name in EXPECTED if name not in ("web", "wallet")]
    unhealthy = container("wallet", Health={"Status": "unhealthy", "Log": [{"ExitCode": 1}]})
    platform = cast(Platform, Listed(*listed, unhealthy))
    with pytest.raises(Failed, match=r"not healthy within .*wallet unhealthy.*web"):
        wait_until_healthy(platform, within_s=0.5)


def test_a_restarting_service_is_waited_for_until_the_deadline() -> None:
    listed = [container(name) for name in EXPECTED if name != "wallet"]
    platform = cast(Platform, Listed(*listed, container("wallet", Status="restarting")))
    with pytest.raises(Failed, match=r"not healthy within .*wallet restarting"):
        wait_until_healthy(platform, within_s=0.5)


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"user": ""}, "runs as root"),
        ({"user": "0:0"}, "runs as root"),
        ({"read_only": False}, "writable root filesystem"),
    ],
)
def test_a_root_user_or_a_writable_root_filesystem_is_refused(changed: dict[str, Any], problem: str) -> None:
    platform = cast(Platform, Listed())
    with pytest.raises(Failed, match=problem):
        check_hardening(platform, [container("wallet-migrate", **changed)])


def test_a_missing_tmpfs_is_refused() -> None:
    bare = container("wallet-migrate")
    bare["HostConfig"]["Tmpfs"] = None
    with pytest.raises(Failed, match="no tmpfs /tmp"):
        check_hardening(cast(Platform, Listed()), [bare])


def test_firewall_rules_compare_without_their_packet_counters() -> None:
    assert COUNTERS.sub("", ":INPUT ACCEPT [123:4567]") == COUNTERS.sub("", ":INPUT ACCEPT [0:0]")
    assert Engine(env={}).started_here is False
