"""`make test-containers`: every image built, the platform run in containers, the e2e story against it.

1. A Docker engine: the one that answers, or Debian's docker.io installed when missing and started for this run
   (tests/containers/engine.py: no bridge, no iptables rules, a socket of its own).
2. The recipes' base images: present, pulled, or (no registry) the stand-ins of deploy/base-images/build.sh.
3. The four service images (deploy/Dockerfile) and the web image (web/Dockerfile), timed; sizes reported.
4. docker-compose.yml with deploy/compose/host-network.yml against this machine's PostgreSQL and RabbitMQ, on a
   database and a broker prefix of this run's own: every container healthy (migration steps exited 0), non-root,
   with a read-only root filesystem and a writable /tmp.
5. tests/e2e (the same story as in `make test`) against the containers' URLs, and tests/containers/test_web.py.
6. The platform down; its database, queues and exchanges removed.
7. The integration suite's session fixtures through testcontainers (tests/containers/test_testcontainers_fixtures.py
   and tests/integration/platform/test_walking_skeleton.py), then no test container left.
8. The engine stopped if this run started it, and nothing of it left but its data root (images, build cache).

Settings: RENTAL_POSTGRES_ADMIN_URL and RENTAL_AMQP_URL (the machine's servers, as for `make run`),
RENTAL_CONTAINERS_NO_CACHE=1 (build without the layer cache, to time a cold build).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from license_distributor.key_encryption import DEV_KEK_FILE, load_or_create_kek_file
from scripts.bootstrap_db import bootstrap
from scripts.run_local import check_infrastructure
from shared.dev_issuer import load_or_create_key
from tests.containers.engine import Engine, EngineError, find_or_start, install_packages, run, stop
from tests.harness import delete_prefixed_broker_objects

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "containers"
IMAGE_USER = "10001"
SERVICES = ["wallet", "contracts", "provisioning", "license-distributor"]
# (image, recipe, build arguments)
BUILDS: list[tuple[str, str, dict[str, str]]] = [
    *[(f"rental-platform/{s}", "deploy/Dockerfile", {"SERVICE": s}) for s in SERVICES],
    ("rental-platform/web", "web/Dockerfile", {}),
]
# What the recipes start FROM, and the stand-in that replaces each where no registry answers.
BASES = {"python:3.11-slim": "python", "node:20-slim": "node"}
TEST_POSTGRES_IMAGE = "postgres:15"
TEST_RABBITMQ_IMAGES = {"rabbitmq:3.13-management": "rabbitmq:3.10"}  # official: stand-in
# The host-network platform's ports (deploy/compose/host-network.yml).
PORTS = {"wallet": 8001, "contracts": 8002, "provisioning": 8003, "license-distributor": 8004, "dev-oidc": 8000}
PORTS["web"] = 8080
COMPOSE_FILES = ["docker-compose.yml", "deploy/compose/host-network.yml"]


class Failed(Exception):
    pass


@dataclass
class Report:
    started: float = field(default_factory=time.monotonic)
    steps: list[tuple[str, float]] = field(default_factory=list)
    builds: list[tuple[str, float, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        say(f"── {name}")
        start = time.monotonic()
        try:
            yield
        finally:
            self.steps.append((name, time.monotonic() - start))

    def print(self) -> None:
        say("── summary")
        for name, seconds in self.steps:
            say(f"   {seconds:7.1f} s  {name}")
        for image, seconds, size in self.builds:
            say(f"   {seconds:7.1f} s  built {image} ({size / 1e6:.0f} MB)")
        say(f"   {time.monotonic() - self.started:7.1f} s  in all")
        for problem in self.problems:
            say(f"   PROBLEM: {problem}")


def say(message: str) -> None:
    print(f"test-containers: {message}", flush=True)


def image_present(engine: Engine, image: str) -> bool:
    return engine.docker("image", "inspect", image, check=False, timeout=60).returncode == 0


def pulled(engine: Engine, image: str) -> bool:
    try:
        return engine.docker("pull", "--quiet", image, check=False, timeout=600).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def ensure_bases(engine: Engine) -> dict[str, str]:
    """Every base image present; the images testcontainers should start (environment for the harness)."""
    stand_ins = [name for image, name in BASES.items() if not (image_present(engine, image) or pulled(engine, image))]
    rabbitmq_image = next(iter(TEST_RABBITMQ_IMAGES))
    if not image_present(engine, TEST_POSTGRES_IMAGE) and not pulled(engine, TEST_POSTGRES_IMAGE):
        stand_ins.append("postgres")
    if not image_present(engine, rabbitmq_image) and not pulled(engine, rabbitmq_image):
        rabbitmq_image = TEST_RABBITMQ_IMAGES[rabbitmq_image]
        stand_ins.append("rabbitmq")
    if stand_ins:
        say(f"no registry has {', '.join(stand_ins)}: stand-ins from Debian's packages (deploy/base-images)")
        if newly := install_packages(["debootstrap"]):
            say(f"installed: {', '.join(newly)}")
        subprocess.run(  # noqa: S603 - our own script
            ["bash", str(ROOT / "deploy/base-images/build.sh"), *stand_ins],  # noqa: S607
            env=engine.env,
            check=True,
            timeout=1800,
        )
    return {"RENTAL_TEST_POSTGRES_IMAGE": TEST_POSTGRES_IMAGE, "RENTAL_TEST_RABBITMQ_IMAGE": rabbitmq_image}


def build_images(engine: Engine, report: Report) -> None:
    network = [] if engine.has_bridge() else ["--network", "host"]
    no_cache = ["--no-cache"] if os.environ.get("RENTAL_CONTAINERS_NO_CACHE") == "1" else []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for image, recipe, args in BUILDS:
        build_args = [item for key, value in args.items() for item in ("--build-arg", f"{key}={value}")]
        log = ARTIFACTS / f"build-{image.rsplit('/', 1)[-1]}.log"
        start = time.monotonic()
        result = engine.docker("build", *network, *no_cache, "-f", recipe, *build_args, "-t", image, ".", check=False)
        seconds = time.monotonic() - start
        log.write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise Failed(f"{image} did not build ({recipe}); see {log}:\n{result.stderr[-3000:]}")
        size = int(engine.docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
        report.builds.append((image, seconds, size))
        say(f"built {image} in {seconds:.1f} s, {size / 1e6:.0f} MB")


def compose_command(engine: Engine) -> list[str]:
    if engine.docker("compose", "version", check=False, timeout=60).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose") is None and (newly := install_packages(["docker-compose"])):
        say(f"installed: {', '.join(newly)} (Compose v1; no v2 plugin answers)")
    return ["docker-compose"]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_free_ports(within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while busy := [f"{name} {port}" for name, port in PORTS.items() if not port_free(port)]:
        if time.monotonic() > deadline:
            raise Failed(f"ports still in use after {within_s:.0f} s: {', '.join(busy)} (is `make run` running?)")
        time.sleep(1)


@dataclass
class Platform:
    engine: Engine
    compose: list[str]
    project: str
    database: str
    broker_prefix: str
    dev_dir: Path
    admin_url: str
    amqp_url: str

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.engine.env,
            "RENTAL_DEV_DIR": str(self.dev_dir),
            "RENTAL_DATABASE": self.database,
            "RENTAL_BROKER_PREFIX": self.broker_prefix,
        }

    def compose_run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        files = [item for path in COMPOSE_FILES for item in ("-f", str(ROOT / path))]
        return run(
            [*self.compose, "--project-directory", str(ROOT), "-p", self.project, *files, *args],
            env=self.env,
            timeout=timeout,
            check=check,
        )

    def containers(self) -> list[dict[str, Any]]:
        ids = self.engine.docker(
            "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"
        ).stdout.split()
        if not ids:
            return []
        inspected: list[dict[str, Any]] = json.loads(self.engine.docker("inspect", *ids).stdout)
        return inspected


def service_of(container: dict[str, Any]) -> str:
    return str(container["Config"]["Labels"]["com.docker.compose.service"])


def wait_until_healthy(platform: Platform, within_s: float = 240) -> list[dict[str, Any]]:
    """Every migration step exited 0 and every other container healthy, or a clear failure."""
    deadline = time.monotonic() + within_s
    expected = {*SERVICES, *[f"{s}-migrate" for s in SERVICES], "postgres", "rabbitmq", "dev-oidc", "web"}
    while True:
        containers = platform.containers()
        waiting, broken = [], []
        for c in containers:
            state = container_state(c)
            if state.startswith("broken: "):
                broken.append(state.removeprefix("broken: "))
            elif state != "ready":
                waiting.append(state)
        missing = expected - {service_of(c) for c in containers}
        if broken:
            raise Failed(f"containers failed: {', '.join(broken)}")
        if not waiting and not missing:
            return containers
        if time.monotonic() > deadline:
            raise Failed(f"not healthy within {within_s:.0f} s: {', '.join(waiting + sorted(missing))}")
        time.sleep(1)


def container_state(container: dict[str, Any]) -> str:
    """`ready`, `broken: <why>`, or what it is waiting for: a migration step must exit 0, the rest be healthy."""
    name, state = service_of(container), container["State"]
    if name.endswith("-migrate"):
        if state["Status"] == "exited":
            return "ready" if state["ExitCode"] == 0 else f"broken: {name} exited {state['ExitCode']}"
        return f"{name} {state['Status']}"
    health = state.get("Health", {}).get("Status", "no health check")
    if state["Status"] == "restarting":  # its restart policy at work: the deadline decides
        return f"{name} restarting (restarts: {container.get('RestartCount', 0)})"
    if state["Status"] != "running":
        return f"broken: {name} {state['Status']}"
    return "ready" if health == "healthy" else f"{name} {health}"


def check_hardening(platform: Platform, containers: Sequence[dict[str, Any]]) -> None:
    """What the issue asks of every container: non-root, read-only root, writable /tmp, health checks passing."""
    problems = []
    for c in containers:
        problems += configuration_problems(c)
        if not service_of(c).endswith("-migrate"):
            problems += running_problems(platform, c)
    if problems:
        raise Failed("; ".join(problems))
    say(f"{len(containers)} containers: non-root (uid {IMAGE_USER}), read-only root, writable /tmp, health passing")


def configuration_problems(container: dict[str, Any]) -> list[str]:
    """What the container's configuration gets wrong: its user, its root filesystem, its /tmp."""
    name, problems = service_of(container), []
    user = container["Config"]["User"].split(":")[0]
    if user in ("", "0", "root"):
        problems.append(f"{name} runs as root")
    if not container["HostConfig"]["ReadonlyRootfs"]:
        problems.append(f"{name} has a writable root filesystem")
    if "/tmp" not in (container["HostConfig"].get("Tmpfs") or {}):  # noqa: S108 - the path inside the container
        problems.append(f"{name} has no tmpfs /tmp")
    return problems


def running_problems(platform: Platform, container: dict[str, Any]) -> list[str]:
    """Inside the running container, as its processes see it: health, uid, what they can write."""
    name, problems = service_of(container), []
    log = container["State"]["Health"]["Log"]
    if not log or log[-1]["ExitCode"] != 0:
        problems.append(f"{name}: last health check did not pass: {log[-1:] or 'none'}")
    cid = container["Id"]
    uid = platform.engine.docker("exec", cid, "id", "-u").stdout.strip()
    if uid == "0":
        problems.append(f"{name}: processes run as uid 0")
    if platform.engine.docker("exec", cid, "touch", "/probe", check=False).returncode == 0:
        problems.append(f"{name}: could write to /")
    tmp_probe = "/tmp/probe"  # noqa: S108 - inside the container
    if platform.engine.docker("exec", cid, "touch", tmp_probe, check=False).returncode != 0:
        problems.append(f"{name}: could not write to /tmp")
    return problems


def pytest(args: Sequence[str], env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - our own test run
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env, check=False
    )
    if result.returncode != 0:
        raise Failed(f"pytest {' '.join(args)} exited {result.returncode}")


async def drop_database(admin_url: str, database: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


def run_platform(engine: Engine, report: Report) -> None:
    admin_url = os.environ.get("RENTAL_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    amqp_url = os.environ.get("RENTAL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    problems = asyncio.run(check_infrastructure(admin_url, amqp_url))
    if problems:
        raise Failed("the platform runs against this machine's servers:\n  - " + "\n  - ".join(problems))
    run_id = uuid.uuid4().hex[:8]
    platform = Platform(
        engine=engine,
        compose=compose_command(engine),
        project=f"rental-containers-{run_id}",
        database=f"rental_containers_{run_id}",
        broker_prefix=f"containers-{run_id}.",
        dev_dir=Path(tempfile.mkdtemp(prefix="rental-containers-dev-")),
        admin_url=admin_url,
        amqp_url=amqp_url,
    )
    say(f"compose: {' '.join(platform.compose)}; database {platform.database}, broker prefix {platform.broker_prefix}")
    try:
        asyncio.run(bootstrap(admin_url=admin_url, database=platform.database))
        load_or_create_key(platform.dev_dir)
        # The distributor's development key-encryption key, beside the issuer's key (the mount is read-only).
        load_or_create_kek_file(platform.dev_dir / DEV_KEK_FILE)
        # The image's user reads the dev issuer's key (mode 0600), the services its JWKS, the distributor its KEK.
        for path in [platform.dev_dir, *platform.dev_dir.iterdir()]:
            os.chown(path, int(IMAGE_USER), int(IMAGE_USER))
        wait_for_free_ports()
        with report.step("compose up (host network) until every container is healthy"):
            platform.compose_run("up", "-d", "--no-build", timeout=600)
            containers = wait_until_healthy(platform)
            say("docker compose ps:\n" + platform.compose_run("ps").stdout)
            inspect = "{{.Name}}  user={{.Config.User}}  {{.State.Status}}  health={{if .State.Health}}"
            inspect += "{{.State.Health.Status}}{{else}}(a step: exit {{.State.ExitCode}}){{end}}"
            ids = [c["Id"] for c in containers]
            say("docker inspect:\n" + platform.engine.docker("inspect", "--format", inspect, *ids).stdout)
            check_hardening(platform, containers)
        with report.step("the e2e story and the web checks against the containers"):
            urls = {
                "wallet": "http://127.0.0.1:8001",
                "contracts": "http://127.0.0.1:8002",
                "provisioning": "http://127.0.0.1:8003",
                "licensing": "http://127.0.0.1:8004",
            }
            env = {
                **os.environ,
                "RENTAL_E2E_URLS": json.dumps(urls),
                "RENTAL_E2E_DEV_DIR": str(platform.dev_dir),
                "RENTAL_E2E_WEB_URL": "http://127.0.0.1:8080",
                "RENTAL_E2E_OIDC_URL": "http://127.0.0.1:8000",
            }
            pytest(["tests/e2e/test_rental_story.py", "tests/containers/test_web.py", "-v"], env)
    finally:
        with report.step("compose down; the run's database and broker objects removed"):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            logs = platform.compose_run("logs", "--no-color", "--timestamps", check=False)
            (ARTIFACTS / "compose.log").write_text(logs.stdout + logs.stderr)
            down = platform.compose_run("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)
            if down.returncode != 0:
                report.problems.append(f"compose down exited {down.returncode}: {down.stderr[-2000:]}")
            if left := platform.containers():
                report.problems.append(f"compose left containers: {[service_of(c) for c in left]}")
            asyncio.run(drop_database(admin_url, platform.database))
            asyncio.run(delete_prefixed_broker_objects(amqp_url, platform.broker_prefix))
            shutil.rmtree(platform.dev_dir, ignore_errors=True)
        say(f"platform logs: {ARTIFACTS / 'compose.log'}")


def through_testcontainers(engine: Engine, images: dict[str, str]) -> None:
    env = {
        **engine.env,
        **images,
        "RENTAL_TEST_THROUGH_TESTCONTAINERS": "1",
        # No reaper container (its image is one more that no registry here serves); this run checks instead.
        "TESTCONTAINERS_RYUK_DISABLED": "true",
    }
    env.pop("RENTAL_TEST_POSTGRES_ADMIN_URL", None)
    env.pop("RENTAL_TEST_AMQP_URL", None)
    try:
        pytest(
            ["tests/containers/test_testcontainers_fixtures.py", "tests/integration/platform/test_walking_skeleton.py"],
            env,
        )
    finally:
        left = engine.docker("ps", "-aq", "--filter", "label=org.testcontainers=true").stdout.split()
        if left:
            engine.docker("rm", "-f", "-v", *left, check=False)
            raise Failed(f"testcontainers left {len(left)} container(s) behind (now removed)")
    say("the testcontainers fixtures started and removed their containers")


def say_how_found(engine: Engine) -> None:
    how = "found running"
    if engine.process is not None:
        how = "started for this run (no bridge, no iptables)"
    elif engine.adopted_pid is not None:
        how = "left running by an earlier run of this: stopped at the end"
    say(f"engine {engine.docker('version', '--format', '{{.Server.Version}}').stdout.strip()}: {how}")
    if engine.installed:
        say(f"installed: {', '.join(engine.installed)}")


def leave_nothing_behind(
    engine: Engine, report: Report, *, containers_before: set[str], volumes_before: set[str]
) -> None:
    """Remove what this run made (stopping an engine it started); report whatever is left."""
    containers_after = set(engine.docker("ps", "-aq", check=False).stdout.split())
    volumes_after = set(engine.docker("volume", "ls", "-q", check=False).stdout.split())
    if extra := containers_after - containers_before:
        report.problems.append(f"containers left: {sorted(extra)}")
    if extra := volumes_after - volumes_before:
        report.problems.append(f"volumes left: {sorted(extra)}")
    started_here = engine.started_here
    report.problems.extend(stop(engine))
    if not report.problems:
        left = "engine stopped; no" if started_here else "engine left running as found; no"
        say(f"{left} container, volume, mount, interface or firewall rule left behind")


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    # A CI time-out or `kill` still tears everything down (the finally below), as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.chdir(ROOT)
    report = Report()
    engine: Engine | None = None
    failure: BaseException | None = None
    containers_before: set[str] = set()
    volumes_before: set[str] = set()
    try:
        with report.step("Docker engine"):
            engine = find_or_start(ARTIFACTS / "dockerd.log")
            say_how_found(engine)
            containers_before = set(engine.docker("ps", "-aq").stdout.split())
            volumes_before = set(engine.docker("volume", "ls", "-q").stdout.split())
        with report.step("base images"):
            images = ensure_bases(engine)
        with report.step("build the service images and the web image"):
            build_images(engine, report)
        run_platform(engine, report)
        with report.step("the integration suite's fixtures through testcontainers"):
            through_testcontainers(engine, images)
    except (Failed, EngineError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        failure = exc
        say(f"FAILED: {exc}")
    except BaseException as exc:  # teardown below, then the error as it was
        failure = exc
        raise
    finally:
        if engine is not None:
            with report.step("nothing left behind"):
                leave_nothing_behind(engine, report, containers_before=containers_before, volumes_before=volumes_before)
        report.print()
    return 1 if failure is not None or report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
