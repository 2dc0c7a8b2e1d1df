"""Servers of a run's own, beside the machine's and never touching them: RabbitMQ nodes (one, or three joined
into a cluster) and Postgres (a primary alone, or a primary with a synchronous streaming hot standby).

Everything lives under one temporary directory of the run: data, logs, the Erlang cookie (the `HOME` of every
RabbitMQ command run here, so neither the machine's cookie nor its node `rabbit@localhost` is ever used), and
Unix sockets. Ports are free ports of loopback chosen at start; node names carry the run's id. `stop()` stops
every process this module started (SIGKILL where a stop does not end it) and removes the directory.

RabbitMQ is started in the foreground as a child (`rabbitmq-server`, Debian's 3.10) with its own
`RABBITMQ_NODENAME`, AMQP and distribution ports (distribution bound to 127.0.0.1), data and log directories,
an empty plugin list and an empty env file (the machine's `/etc/rabbitmq` is not read);
`cluster_partition_handling = pause_minority`, as in the production overlay's `RabbitmqCluster`. The second
and third nodes join the first with `rabbitmqctl join_cluster`.

Postgres (`/usr/lib/postgresql/15/bin`) runs as the `postgres` user (initdb refuses root), with trust
authentication on loopback only. The standby is a `pg_basebackup -R` of the primary streaming over a
replication slot; the primary's `synchronous_standby_names` names it and `synchronous_commit = remote_apply`,
so a commit is acknowledged only once it is on both (applied on the standby). A fail-over stops the primary
(`immediate`: no shutdown checkpoint, as a lost machine), promotes the standby, lets it commit alone until a
new standby streams (there is none to wait for), and `rebuild_standby()` makes the old primary the new standby
(a fresh base backup and slot from the new primary), after which commits are synchronous again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import asyncpg

from tests.harness import eventually, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
PG_USER = "postgres"
NET_TICKTIME_S = 10
# A CLI command boots an Erlang VM of its own: on a loaded machine that alone takes tens of seconds (the fault run's
# `list_connections` took over 60 s at load 22). Every CLI call of the harness has this long unless it says otherwise.
CLI_TIMEOUT_S = 120


def run(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


# --------------------------------------------------------------------------------------------------- RabbitMQ


@dataclass
class RabbitNode:
    name: str  # e.g. rmq-1a2b3c-1@localhost
    amqp_port: int
    dist_port: int
    base: Path  # this node's own directory
    home: Path  # holds the run's .erlang.cookie; HOME of every command
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def short(self) -> str:
        return self.name.split("@", 1)[0]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            {
                "HOME": str(self.home),
                "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
                "RABBITMQ_NODENAME": self.name,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(self.amqp_port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.base / "log"),
                "RABBITMQ_PID_FILE": str(self.base / "beam.pid"),
                "ERL_EPMD_ADDRESS": "127.0.0.1",
                # Distribution on loopback only; peers declare a silent node down after 7.5-12.5 s (default 60 s
                # net_ticktime: 45-75 s), so a node cut off is noticed, and healed, within a seed.
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                    f"-kernel inet_dist_use_interface {{127,0,0,1}} -kernel net_ticktime {NET_TICKTIME_S}"
                ),
            }
        )
        return env

    def prepare(self) -> None:
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            "\n".join(
                (
                    f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}",
                    "loopback_users = none",
                    "cluster_partition_handling = pause_minority",
                    # Disk space is shared with everyone on the machine: never block publishers for it here.
                    "disk_free_limit.absolute = 50MB",
                    "log.file.level = info",
                    "",
                )
            )
        )

    def start(self) -> None:
        """Start the node in the foreground, as a child of this process (its output in `out.log`)."""
        self.log = (self.base / "out.log").open("ab")
        (self.base / "beam.pid").unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - Debian's own script, our arguments
            [str(RABBITMQ_BIN / "rabbitmq-server")],
            env=self.env(),
            cwd=self.base,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the test run is not the node's
        )

    def ctl(self, *args: str, timeout: float = CLI_TIMEOUT_S, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, *args], env=self.env(), timeout=timeout, check=check
        )

    def queues(
        self, *args: str, timeout: float = CLI_TIMEOUT_S, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run(
            [str(RABBITMQ_BIN / "rabbitmq-queues"), "-n", self.name, *args],
            env=self.env(),
            timeout=timeout,
            check=check,
        )

    def beam_pid(self) -> int | None:
        """The Erlang VM's pid (the script started as a child is only its parent), once the node wrote it."""
        try:
            return int((self.base / "beam.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def wait_booted(self, *, within: float = 120) -> None:
        async def booted() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.tail()}")
            try:
                result = await asyncio.to_thread(
                    self.ctl, "await_startup", "--timeout", "5", "-q", timeout=30, check=False
                )
            except subprocess.TimeoutExpired:
                # The CLI is an Erlang VM of its own: on a loaded machine it can take longer than its own timeout
                # to boot. Not booted yet, not a failure.
                return False
            return result.returncode == 0 and self.beam_pid() is not None

        await eventually(booted, what=f"{self.name} booted", within=within, every=0.5)

    def kill(self) -> None:
        """kill -9 of the Erlang VM (no goodbye to its peers or clients); reaps the script that started it."""
        pid = self.beam_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGCONT)  # a paused node must die too
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()
            self.log = None

    def pause(self) -> None:
        """SIGSTOP: the node answers nobody, its peers and clients see it vanish. (Not a fault of the cluster
        run: a node suspended for longer than net_ticktime comes back partitioned and stays so under
        pause_minority; docs/operations.md.)"""
        pid = self.beam_pid()
        assert pid is not None, f"{self.name} has no pid"
        os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        pid = self.beam_pid()
        assert pid is not None, f"{self.name} has no pid"
        os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if not self.is_running():
            self.kill()  # reaps and closes the log
            return
        pid = self.beam_pid()
        if pid is not None:
            with _suppress_lookup():
                os.kill(pid, signal.SIGCONT)
        self.ctl("stop", "-q", timeout=60, check=False)
        self.kill()

    def tail(self, chars: int = 3000) -> str:
        logs = [*sorted((self.base / "log").glob("*.log")), self.base / "out.log"]
        return "\n".join(p.read_text(errors="replace")[-chars:] for p in logs if p.exists())


class _suppress_lookup:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is not None and issubclass(kind, ProcessLookupError)


@dataclass
class RabbitCluster:
    """`size` RabbitMQ nodes of the run; with 3 they are one cluster (nodes 2 and 3 joined to node 1)."""

    base: Path
    run_id: str
    size: int = 3
    nodes: list[RabbitNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        home = self.base / "erlang-home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(uuid.uuid4().hex.upper())
        cookie.chmod(0o400)
        for n in range(1, self.size + 1):
            self.nodes.append(
                RabbitNode(
                    name=f"rmq-{self.run_id}-{n}@localhost",
                    amqp_port=free_port(),
                    dist_port=free_port(),
                    base=self.base / f"rabbit{n}",
                    home=home,
                )
            )

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def url(self, *, heartbeat_s: int | None = None) -> str:
        """Every node's URL, comma-separated (the services' `AMQP_URL` form for several nodes)."""
        query = f"?heartbeat={heartbeat_s}" if heartbeat_s is not None else ""
        return ",".join(node.url + query for node in self.nodes)

    async def start(self) -> None:
        for node in self.nodes:
            node.prepare()
            node.start()
        await asyncio.gather(*(node.wait_booted() for node in self.nodes))
        first = self.nodes[0]
        for node in self.nodes[1:]:
            await asyncio.to_thread(node.ctl, "stop_app", "-q")
            await asyncio.to_thread(node.ctl, "join_cluster", first.name, "-q")
            await asyncio.to_thread(node.ctl, "start_app", "-q")
        await self.wait_all_running()

    def running_nodes(self, via: RabbitNode | None = None) -> list[str]:
        """The cluster's running nodes as a live member sees them."""
        for node in [via] if via is not None else self.live_nodes():
            # The node's own view (cluster_status would ask every member, and wait on one that is paused).
            try:
                result = node.ctl(
                    "eval", "rabbit_nodes:all_running().", "--formatter", "json", timeout=CLI_TIMEOUT_S, check=False
                )
            except subprocess.TimeoutExpired:
                continue
            if result.returncode == 0:
                try:
                    answer = json.loads(result.stdout)
                except ValueError:
                    continue
                # rabbitmqctl eval's JSON is {"node": ..., "result": "ok", "value": [...]} or the bare list.
                return sorted(answer["value"] if isinstance(answer, dict) else answer)
        return []

    def live_nodes(self) -> list[RabbitNode]:
        return [n for n in self.nodes if n.is_running()]

    async def wait_all_running(self, *, within: float = 300) -> None:
        """Every node up and every node seeing all of them running (a restarted or resumed node rejoined)."""
        names = sorted(n.name for n in self.nodes)

        async def views() -> list[list[str]]:
            return [await asyncio.to_thread(self.running_nodes, node) for node in self.nodes]

        await eventually(
            views,
            what="every RabbitMQ node running and clustered",
            within=within,
            every=0.5,
            until=lambda seen: all(view == names for view in seen),
        )

    def ctl(self, *args: str, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """A rabbitmqctl command answered by the first live node that answers it."""
        last: RuntimeError | None = None
        for node in self.live_nodes():
            try:
                return node.ctl(*args, timeout=timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                last = RuntimeError(str(exc))
        raise last or RuntimeError("no RabbitMQ node of the run is running")

    def queue_rows(self, prefix: str, *columns: str) -> list[list[str]]:
        """`rabbitmqctl list_queues name <columns>` for the queues whose name starts with `prefix`."""
        listing = self.ctl("list_queues", "-q", "--no-table-headers", "name", *columns).stdout
        rows = [line.split("\t") for line in listing.splitlines() if line.strip()]
        return [row for row in rows if row[0].startswith(prefix)]

    def quorum_members(self, queue: str) -> dict[str, str]:
        """`rabbitmq-queues quorum_status`: member node -> Raft state (leader, follower, ...)."""
        for node in self.live_nodes():
            result = node.queues("quorum_status", queue, "--formatter", "json", timeout=30, check=False)
            if result.returncode == 0:
                return {row["Node Name"]: row["Raft State"] for row in json.loads(result.stdout)}
        return {}

    def cut_off(self, node: RabbitNode) -> float:
        """Cut `node` off from its peers, leaving it up and open to clients: a network partition of the Erlang
        distribution. Returns the instant (`time.monotonic()`, the event loop's clock) its clients lost it.

        1. The node expects another cookie from each peer from now on, so no handshake between them succeeds
           (the CLI, a node of its own name, still gets in with the run's cookie). Links already up stay up.
        2. The node is frozen (SIGSTOP) while the first peer drops its link to it and has the second drop its
           own: frozen, the node cannot answer the peers' check for a partial partition. (Dropping the links
           from the node itself, one after the other, let a peer that saw it go ask the other peer, still
           linked for an instant, whether it could see the node; it could, so that peer reported a partial
           partition and, under `pause_minority`, the majority node paused too "until the *entire* cluster
           recovers": no quorum anywhere until the partition ended.)
        3. Thawed, the node finds both links gone and no way back: alone, under `pause_minority`, it pauses
           itself and closes its clients' connections. The two others stay running and clustered.
        """
        peers = [peer for peer in self.nodes if peer is not node]
        names = ",".join(f"'{peer.name}'" for peer in peers)
        cookie = f"cut-off-{uuid.uuid4().hex}"
        node.ctl("eval", f"[erlang:set_cookie(P, '{cookie}') || P <- [{names}]], ok.", timeout=CLI_TIMEOUT_S)
        pid = node.beam_pid()
        assert pid is not None, f"{node.name} has no pid"
        os.kill(pid, signal.SIGSTOP)
        lost = time.monotonic()
        try:
            first, *others = peers
            others_names = ",".join(f"'{peer.name}'" for peer in others)
            first.ctl(
                "eval",
                f"erlang:disconnect_node('{node.name}'),"
                f" [erpc:call(P, erlang, disconnect_node, ['{node.name}']) || P <- [{others_names}]], ok.",
                timeout=CLI_TIMEOUT_S,
            )
        finally:
            os.kill(pid, signal.SIGCONT)
        return lost

    def reconnect(self, node: RabbitNode) -> None:
        """End the partition: the node takes the run's cookie from its peers again (they reconnect by themselves:
        the paused node looks for them every second)."""
        cookie = (node.home / ".erlang.cookie").read_text().strip()
        names = ",".join(f"'{peer.name}'" for peer in self.nodes if peer is not node)
        node.ctl("eval", f"[erlang:set_cookie(P, '{cookie}') || P <- [{names}]], ok.", timeout=CLI_TIMEOUT_S)

    def node(self, name: str) -> RabbitNode:
        return next(n for n in self.nodes if n.name == name)

    async def stop(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(node.stop) for node in self.nodes))


# --------------------------------------------------------------------------------------------------- Postgres


@dataclass
class PostgresNode:
    name: str  # also its cluster_name, hence its application_name as a standby
    port: int
    base: Path

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def logfile(self) -> Path:
        return self.base / "postgres.log"

    def as_postgres(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["runuser", "-u", PG_USER, "--", *args], timeout=timeout, check=check)

    def options(self) -> str:
        return f"-c port={self.port} -c cluster_name={self.name} -c unix_socket_directories={self.base}"

    def pg_ctl(self, *options: str, action: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`pg_ctl -D <data> <options> -w -t 120 <action>` as the postgres user, waiting for it to finish."""
        pg_ctl = str(PG_BIN / "pg_ctl")
        return self.as_postgres(pg_ctl, "-D", str(self.data), *options, "-w", "-t", "120", action, check=check)

    def start(self) -> None:
        self.pg_ctl("-l", str(self.logfile), "-o", self.options(), action="start")

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            self.pg_ctl("-m", mode, action="stop", check=False)

    def restart(self) -> None:
        self.pg_ctl("-l", str(self.logfile), "-o", self.options(), "-m", "fast", action="restart")

    def promote(self) -> None:
        self.pg_ctl(action="promote")

    def is_running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        return self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status", check=False).returncode == 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def fetchval(self, sql: str) -> object:
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    def tail(self, chars: int = 3000) -> str:
        return self.logfile.read_text(errors="replace")[-chars:] if self.logfile.exists() else ""


PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
max_connections = 300
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
# Acknowledged only once the standby has applied it (not merely flushed it, `on`): what was acknowledged is
# visible on both nodes, so a connection of a multi-host URL that meets the standby first never misses a
# database or row just committed (asyncpg gives up on a host that lacks the database, it does not try the next).
synchronous_commit = remote_apply
wal_log_hints = on
"""


@dataclass
class PostgresServers:
    """A primary, and with `standby` a synchronous streaming hot standby of it."""

    base: Path
    standby: bool = True
    nodes: list[PostgresNode] = field(default_factory=list)
    primary_index: int = 0
    failovers: int = 0

    def __post_init__(self) -> None:
        for n in range(1, (2 if self.standby else 1) + 1):
            self.nodes.append(PostgresNode(name=f"pg{n}", port=free_port(), base=self.base / f"pg{n}"))

    @property
    def primary(self) -> PostgresNode:
        return self.nodes[self.primary_index]

    @property
    def replica(self) -> PostgresNode | None:
        return self.nodes[1 - self.primary_index] if self.standby else None

    @property
    def hosts(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def dsn(self, *, user: str = "postgres", password: str | None = None, database: str = "postgres") -> str:
        """A multi-host URL that finds whichever node is the primary (`target_session_attrs=read-write`)."""
        auth = f"{user}:{password}" if password is not None else user
        query = "?target_session_attrs=read-write" if self.standby else ""
        return f"postgresql://{auth}@{self.hosts}/{database}{query}"

    def _prepare_dir(self, node: PostgresNode) -> None:
        if node.base.exists():
            shutil.rmtree(node.base)
        node.base.mkdir(parents=True)
        shutil.chown(node.base, PG_USER, PG_USER)

    async def start(self) -> None:
        first = self.primary
        self._prepare_dir(first)
        await asyncio.to_thread(
            first.as_postgres,
            str(PG_BIN / "initdb"),
            "-D",
            str(first.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        )
        with (first.data / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_CONF)
        await asyncio.to_thread(first.start)
        if self.standby:
            await self.rebuild_standby()

    def _slot(self, node: PostgresNode) -> str:
        return f"standby_{node.name}"

    async def rebuild_standby(self) -> float:
        """(Re)make the non-primary node a streaming standby of the primary, then require it synchronously.

        Returns how long it took. The node's old data (an old primary's, say) is discarded: a fresh base backup
        over a fresh slot of the current primary (what CloudNativePG does with a failed-over instance it cannot
        rewind)."""
        started = time.monotonic()
        primary, standby = self.primary, self.replica
        assert standby is not None
        await asyncio.to_thread(standby.stop, "immediate")
        slot = self._slot(standby)
        await primary.execute(
            f"SELECT pg_drop_replication_slot('{slot}') FROM pg_replication_slots WHERE slot_name = '{slot}'"  # noqa: S608
        )
        self._prepare_dir(standby)
        await asyncio.to_thread(
            standby.as_postgres,
            str(PG_BIN / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(standby.data),
            "-R",
            "-C",
            "-S",
            slot,
            "-X",
            "stream",
            "-c",
            "fast",
        )
        await asyncio.to_thread(standby.start)

        async def streaming() -> object:
            return await primary.fetchval(
                f"SELECT state FROM pg_stat_replication WHERE application_name = '{standby.name}'"  # noqa: S608
            )

        await eventually(
            streaming,
            what=f"{standby.name} streaming from {primary.name}",
            within=60,
            every=0.2,
            until=lambda state: state == "streaming",
        )
        await primary.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{standby.name}'")
        await primary.execute("SELECT pg_reload_conf()")

        async def synchronous() -> object:
            return await primary.fetchval(
                f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{standby.name}'"  # noqa: S608
            )

        await eventually(
            synchronous, what=f"{standby.name} synchronous", within=30, every=0.2, until=lambda state: state == "sync"
        )
        return time.monotonic() - started

    async def fail_over(self) -> None:
        """Stop the primary as if its machine died, promote the standby; it then commits alone (no standby yet).

        The caller rebuilds the old primary as the new standby with `rebuild_standby()`."""
        await self.lose_primary()
        await self.promote_standby()

    async def lose_primary(self) -> None:
        """The primary stops as if its machine died (`immediate`: no shutdown checkpoint)."""
        await asyncio.to_thread(self.primary.stop, "immediate")

    async def promote_standby(self) -> None:
        """Promote the standby of a lost primary; it commits alone until `rebuild_standby()`."""
        old, new = self.primary, self.replica
        assert new is not None, "no standby to fail over to"
        assert not old.is_running(), f"{old.name} still runs: two primaries"
        await asyncio.to_thread(new.promote)
        # The promoted node inherited synchronous_standby_names naming itself: with no standby left to confirm,
        # every commit would wait forever. Until the old primary streams again, commits are on this node alone.
        await new.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
        await new.execute("SELECT pg_reload_conf()")
        self.primary_index = 1 - self.primary_index
        self.failovers += 1

    async def stop(self) -> None:
        for node in self.nodes:
            await asyncio.to_thread(node.stop, "immediate")


# --------------------------------------------------------------------------------------------------- both


@dataclass
class Servers:
    """The run's own RabbitMQ and Postgres, under one temporary directory, removed by `stop()`."""

    rabbit: RabbitCluster
    postgres: PostgresServers
    base: Path

    @classmethod
    def create(cls, *, rabbit_nodes: int, standby: bool) -> Servers:
        base = Path(tempfile.mkdtemp(prefix="rental-servers-"))
        base.chmod(0o755)  # the postgres user walks into its own directories below
        run_id = uuid.uuid4().hex[:6]
        return cls(
            rabbit=RabbitCluster(base=base / "rabbitmq", run_id=run_id, size=rabbit_nodes),
            postgres=PostgresServers(base=base / "postgres", standby=standby),
            base=base,
        )

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, *, rabbit_nodes: int, standby: bool) -> AsyncIterator[Servers]:
        """Created, started, and stopped and removed when the block ends."""
        own = cls.create(rabbit_nodes=rabbit_nodes, standby=standby)
        await own.start()
        try:
            yield own
        finally:
            await own.stop()

    @property
    def admin_url(self) -> str:
        return self.postgres.dsn()

    @property
    def amqp_url(self) -> str:
        return self.rabbit.urls[0]

    async def start(self) -> None:
        try:
            await asyncio.gather(self.rabbit.start(), self.postgres.start())
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        try:
            await asyncio.gather(self.rabbit.stop(), self.postgres.stop(), return_exceptions=True)
        finally:
            self.keep_logs()
            shutil.rmtree(self.base, ignore_errors=True)

    def keep_logs(self) -> None:
        """With `RENTAL_SERVERS_KEEP_LOGS=<dir>`, the servers' logs are copied there before their directory goes
        (`<dir>/<run id>/rabbit1/log/...`, `.../pg1/postgres.log`): what a failed run's nodes said."""
        keep = os.environ.get("RENTAL_SERVERS_KEEP_LOGS")
        if not keep:
            return
        target = Path(keep) / self.base.name
        for node in self.rabbit.nodes:
            for log in [*(node.base / "log").glob("*.log"), node.base / "out.log"]:
                if log.exists():
                    (target / node.base.name / log.parent.relative_to(node.base)).mkdir(parents=True, exist_ok=True)
                    shutil.copy(log, target / node.base.name / log.relative_to(node.base))
        for pg in self.postgres.nodes:
            if pg.logfile.exists():
                (target / pg.name).mkdir(parents=True, exist_ok=True)
                shutil.copy(pg.logfile, target / pg.name / pg.logfile.name)
