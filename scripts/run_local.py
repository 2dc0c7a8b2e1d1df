"""`make run`: check Postgres and RabbitMQ, prepare the database, migrate, start every service under honcho,
then seed the demo tenant through the public APIs (`scripts/demo_seed.py`; `make run DEMO=0` seeds nothing)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aio_pika
import asyncpg

from license_distributor.key_encryption import DEV_KEK_FILE, load_or_create_kek_file
from scripts import demo_seed
from scripts.bootstrap_db import bootstrap
from shared.config import DEV_DIR
from shared.dev_issuer import load_or_create_key

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [
    # (process name, python package, schema, first port)
    ("wallet", "wallet", "wallet", 8001),
    ("contracts", "contracts", "contracts", 8002),
    ("provisioning", "provisioning", "provisioning", 8003),
    ("license-distributor", "license_distributor", "licensing", 8004),
]
GATEWAY_STATE_DIR = ROOT / ".dev" / "gateways"
REPLICA_PORT_STEP = 100  # replica r of a service listens on its port + 100 * r


async def check_infrastructure(admin_url: str, amqp_url: str) -> list[str]:
    problems = []
    try:
        conn = await asyncpg.connect(admin_url, timeout=5)
        await conn.close()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        problems.append(
            f"PostgreSQL is not answering at {admin_url} ({exc}).\n"
            "    Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
            "    or point RENTAL_POSTGRES_ADMIN_URL at a server (superuser, to create the database and roles)."
        )
    try:
        connection = await aio_pika.connect(amqp_url, timeout=5)
        await connection.close()
    except (OSError, aio_pika.exceptions.AMQPError, TimeoutError) as exc:
        problems.append(
            f"RabbitMQ is not answering at {amqp_url} ({exc}).\n"
            "    Start it with: rabbitmq-server -detached\n"
            "    or point RENTAL_AMQP_URL at a broker."
        )
    return problems


def procfile(replicas: int, database: str, host: str, port: int) -> str:
    lines = []
    for name, package, schema, first_port in SERVICES:
        for replica in range(replicas):
            service_port = first_port + REPLICA_PORT_STEP * replica
            # Procfile names allow only letters, digits, "_" and "-": honcho skips any other line silently.
            label = name if replicas == 1 else f"{name}-{replica + 1}"
            prefix = package.upper()
            env = (
                f"{prefix}_HTTP_PORT={service_port} "
                f"{prefix}_DATABASE_URL=postgresql://{schema}:{schema}@{host}:{port}/{database}"
            )
            if package == "wallet":
                # Webhook receivers of a local run listen on this machine (refused by default: docs/operations.md).
                env += " WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS=true"
            lines.append(f"{label}: env {env} {sys.executable} -m {package}")
    # The web app (BFF + built SPA) on 8080 and the development OpenID provider on the dev issuer's port.
    lines.append(f"dev-oidc: {sys.executable} -m web_bff.dev_oidc")
    lines.append(f"web: env WEB_MAIL_SINK_URL=http://127.0.0.1:8025 {sys.executable} -m web_bff")
    # Where the wallet's e-mail notices go (its default SMTP server, 127.0.0.1:1025); shown on port 8025.
    lines.append(f"smtp-sink: {sys.executable} -m scripts.smtp_sink --smtp-port 1025 --http-port 8025")
    # A few simulated gateways (kept in .dev/gateways): they connect once registered (README, "Gateway simulator").
    lines.append(f"gateways: {sys.executable} -m gateway_simulator --state-dir .dev/gateways run --gateways 3")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicas", type=int, default=1, help="replicas of every service (separate ports)")
    parser.add_argument("--database", default=os.environ.get("RENTAL_DATABASE", "rental"))
    args = parser.parse_args()
    admin_url = os.environ.get("RENTAL_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    amqp_url = os.environ.get("RENTAL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

    problems = asyncio.run(check_infrastructure(admin_url, amqp_url))
    if problems:
        print("make run needs PostgreSQL and RabbitMQ:\n  - " + "\n  - ".join(problems), file=sys.stderr)
        raise SystemExit(1)
    asyncio.run(bootstrap(admin_url=admin_url, database=args.database))
    load_or_create_key()
    # The distributor's development key-encryption key (LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY unset): .dev/.
    load_or_create_kek_file(DEV_DIR / DEV_KEK_FILE)
    print(f"database {args.database!r} ready; migrations are applied by each service as it starts")

    from urllib.parse import urlsplit

    parts = urlsplit(admin_url)
    run_dir = ROOT / ".dev"
    run_dir.mkdir(exist_ok=True)
    procfile_path = run_dir / "Procfile"
    procfile_path.write_text(procfile(args.replicas, args.database, parts.hostname or "127.0.0.1", parts.port or 5432))
    print("\nStarting the platform (Ctrl-C stops everything):")
    for name, _package, _schema, first_port in SERVICES:
        for replica in range(args.replicas):
            print(f"  {name:<20} http://127.0.0.1:{first_port + REPLICA_PORT_STEP * replica}/docs")
    print(f"  {'web app':<20} http://127.0.0.1:8080 (sign in with a demo user of the development provider)")
    print(f"  {'SMTP sink':<20} smtp://127.0.0.1:1025, messages at http://127.0.0.1:8025/ (JSON: /messages)")
    print(f"  {'dev OpenID provider':<20} http://127.0.0.1:8000/dev-issuer/.well-known/openid-configuration")
    print("  tokens:              make token ROLE=operator | partner | customer ACCOUNT=<id>\n")
    env = {**os.environ, "RENTAL_LOG_JSON": "false", "PYTHONUNBUFFERED": "1"}
    os.chdir(ROOT)
    seeding = demo_seed.demo_enabled()
    if seeding:
        # The demo's gateway identities exist before the simulator starts, so it runs exactly those.
        demo_seed.prepare_gateways(GATEWAY_STATE_DIR)
    # The supervisor as a child (every argument is ours), so the demo can be seeded once the services answer.
    supervisor = subprocess.Popen([sys.executable, "-m", "honcho", "-f", str(procfile_path), "start"], env=env)  # noqa: S603
    try:
        if seeding:
            seed_demo(supervisor)
        else:
            print("DEMO=0: no demo tenant seeded", flush=True)
        supervisor.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached honcho too (same process group); it stops the services. Wait for it to finish.
        supervisor.send_signal(signal.SIGINT)
        supervisor.wait()
    raise SystemExit(supervisor.returncode or 0)


def seed_demo(supervisor: subprocess.Popen[bytes]) -> None:
    """The demo tenant through the public APIs; a failure is reported, and the platform keeps running."""
    try:
        tenants = asyncio.run(
            demo_seed.seed(demo_seed.DEFAULT_URLS, state_dir=GATEWAY_STATE_DIR, alive=lambda: supervisor.poll() is None)
        )
    except (demo_seed.SeedError, OSError) as failed:
        if supervisor.poll() is None:
            print(f"\nThe demo tenant could not be seeded: {failed}\n", file=sys.stderr, flush=True)
        return
    print("\n" + demo_seed.summary(tenants) + "\n", flush=True)


if __name__ == "__main__":
    main()
