"""The Docker engine for `make test-containers`: found as it is, or installed and started privately, then stopped.

An engine that already answers (DOCKER_HOST, or the default socket) is used as it is and left running. Otherwise
Debian's `docker.io` is installed when missing and a daemon of this run's own is started: no bridge, no iptables
rules, no IP forwarding or masquerading (containers use the host's network), its own socket under
/run/rental-containers (not the default one, so that nothing else on the machine, such as another test run's
harness, mistakes it for the machine's engine), its own exec root there, and its own data root under
/var/lib/rental-containers (images and build cache, kept between runs like an installed package). At the end it
is stopped and every trace of it outside the data root is checked gone: process, mounts, socket and state.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

STATE_DIR = Path("/run/rental-containers")
SOCKET = STATE_DIR / "docker.sock"
DATA_ROOT = Path("/var/lib/rental-containers/docker")
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
COUNTERS = re.compile(r"\[\d+:\d+\]")


class EngineError(RuntimeError):
    pass


def run(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - every command is this module's own
        list(args), env=env, text=True, capture_output=capture, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-3000:] if capture else ""
        raise EngineError(f"{' '.join(args)} exited {result.returncode}\n{detail}")
    return result


def answers(env: dict[str, str]) -> bool:
    if shutil.which("docker", path=env.get("PATH")) is None:
        return False
    try:
        info = run(["docker", "info", "--format", "{{.ServerVersion}}"], env=env, timeout=20, check=False)
        return info.returncode == 0
    except subprocess.TimeoutExpired:
        return False


def installed(package: str) -> bool:
    result = run(["dpkg-query", "-W", "-f=${Status}", package], check=False)
    return result.returncode == 0 and result.stdout.strip() == "install ok installed"


def install_packages(packages: Sequence[str]) -> list[str]:
    """Debian packages by name, when missing (as root), with no service started by their installation."""
    missing = [name for name in packages if not installed(name)]
    if not missing:
        return []
    if os.geteuid() != 0:
        raise EngineError(f"{', '.join(missing)} missing: install them, or run as root to let this run do it")
    # Without a policy, dpkg would start the new services (a daemon with a bridge and iptables rules, say).
    guard = not POLICY_RC_D.exists()
    if guard:
        POLICY_RC_D.write_text("#!/bin/sh\n# make test-containers: no service starts during its installs\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env, timeout=600)
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, timeout=1200)
    finally:
        if guard:
            POLICY_RC_D.unlink()
    return missing


def firewall_rules() -> list[str]:
    """The machine's iptables and ip6tables rules, without packet counters (empty where the tools are missing)."""
    rules: list[str] = []
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool) is None:
            continue
        result = run([tool], check=False, timeout=30)
        for line in result.stdout.splitlines():
            if line.startswith("#"):
                continue
            rules.append(f"{tool}: {COUNTERS.sub('', line).strip()}")
    return rules


def interfaces() -> set[str]:
    result = run(["ip", "-o", "link", "show"], check=False, timeout=30) if shutil.which("ip") else None
    names = set()
    for line in (result.stdout if result else "").splitlines():
        parts = line.split(":", 2)
        if len(parts) > 1:
            names.add(parts[1].strip().split("@")[0])
    return names


def mounts_under(*roots: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4]
        if any(mount_point == str(root) or mount_point.startswith(f"{root}/") for root in roots):
            found.append(mount_point)
    return found


@dataclass
class Engine:
    """The engine this run talks to; `process` is set when this run started it (and so must stop it)."""

    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    # A private daemon that an earlier, killed run left running: this run's to stop too (nobody else uses it).
    adopted_pid: int | None = None
    installed: list[str] = field(default_factory=list)
    firewall_before: list[str] = field(default_factory=list)
    interfaces_before: set[str] = field(default_factory=set)

    @property
    def started_here(self) -> bool:
        return self.process is not None or self.adopted_pid is not None

    def docker(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["docker", *args], env=self.env, timeout=timeout, check=check)

    def has_bridge(self) -> bool:
        names = self.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        return "bridge" in names


def find_or_start(log_path: Path, *, within_s: float = 90) -> Engine:
    found = dict(os.environ)
    if answers(found):
        return Engine(env=found)
    private = {**os.environ, "DOCKER_HOST": f"unix://{SOCKET}"}
    if answers(private):  # one that an earlier run started and could not stop
        pid = int((STATE_DIR / "docker.pid").read_text())
        return Engine(env=private, adopted_pid=pid, firewall_before=firewall_rules(), interfaces_before=interfaces())
    newly = install_packages(["docker.io"])
    if os.geteuid() != 0:
        raise EngineError("no Docker engine answers, and starting one needs root")
    engine = Engine(env=private, installed=newly, firewall_before=firewall_rules(), interfaces_before=interfaces())
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    DATA_ROOT.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        engine.process = subprocess.Popen(  # noqa: S603 - every argument is ours
            [  # noqa: S607 - Debian's dockerd, from the PATH
                "dockerd",
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                f"--host=unix://{SOCKET}",
                f"--data-root={DATA_ROOT}",
                f"--exec-root={STATE_DIR / 'exec'}",
                f"--pidfile={STATE_DIR / 'docker.pid'}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + within_s
    while not answers(private):
        if engine.process.poll() is not None:
            raise EngineError(f"dockerd exited {engine.process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            stop(engine)
            raise EngineError(f"dockerd did not answer within {within_s:.0f} s; see {log_path}")
        time.sleep(0.5)
    return engine


def stop(engine: Engine, *, within_s: float = 60) -> list[str]:
    """Stop an engine this run started; what it left behind (an empty list when nothing)."""
    process, adopted = engine.process, engine.adopted_pid
    if process is None and adopted is None:
        return []
    problems = []
    if process is not None:
        problems += _stop_own_process(process, within_s=within_s)
    elif adopted is not None:
        problems += _stop_adopted(adopted, within_s=within_s)
    engine.process = engine.adopted_pid = None
    problems += _undo_mounts_and_state()
    firewall_now = firewall_rules()
    if firewall_now != engine.firewall_before:
        added = sorted(set(firewall_now) - set(engine.firewall_before))
        removed = sorted(set(engine.firewall_before) - set(firewall_now))
        problems.append(f"firewall rules changed: added {added}, removed {removed}")
    new_links = {name for name in interfaces() - engine.interfaces_before if name.startswith(("docker", "br-"))}
    if new_links:
        problems.append(f"network interfaces left behind: {sorted(new_links)}")
    return problems


def _stop_own_process(process: subprocess.Popen[bytes], *, within_s: float) -> list[str]:
    process.terminate()
    try:
        process.wait(timeout=within_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
        return [f"dockerd did not stop within {within_s:.0f} s: killed"]
    return []


def _stop_adopted(pid: int, *, within_s: float) -> list[str]:
    """An engine an earlier run left running: not our child, so it is watched through /proc."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + within_s
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return [f"dockerd {pid} did not stop within {within_s:.0f} s: killed"]
        time.sleep(0.2)
    return []


def _undo_mounts_and_state() -> list[str]:
    # dockerd keeps a bind mount of the host's network namespace under its exec root after it exits: ours to undo.
    for mount_point in sorted(mounts_under(STATE_DIR), reverse=True):
        run(["umount", mount_point], check=False, timeout=30)
    left = mounts_under(STATE_DIR, DATA_ROOT)
    if left:
        return [f"mounts left behind: {left}"]
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    return [f"{STATE_DIR} could not be removed"] if STATE_DIR.exists() else []
