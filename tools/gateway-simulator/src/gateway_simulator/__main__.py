"""`python -m gateway_simulator <command>`: create, register, run and inspect simulated gateways.

init      create N gateway identities (key, hwid, phones) in --state-dir, if fewer exist
register  register them with provisioning (POST /v1/domains/{id}/gateways) with a partner/operator token
run       keep every gateway's session with the distributor; print a report every --report-every seconds
status    print, from the state on disk, each gateway's seq and which phones its stored bundle lets run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

import httpx
import structlog

from gateway_simulator.fleet import Fleet, register_gateways
from gateway_simulator.gateway import utc_now
from gateway_simulator.identity import GATEWAY_PRODUCT, PHONE_PRODUCT, FileStore, GatewayState
from gateway_simulator.verifier import BundleRejected, verify_bundle

DEFAULT_STATE_DIR = Path(".dev/gateways")


def ensure_gateways(
    store: FileStore, *, count: int, phones: int, product: str, phone_product: str
) -> list[GatewayState]:
    states = store.load_all()
    while len(states) < count:
        state = GatewayState.generate(phones=phones, product=product, phone_product=phone_product)
        store.save(state)
        states.append(state)
    return states[:count] if count else states


async def _register(args: argparse.Namespace) -> None:
    store = FileStore(args.state_dir)
    states = store.load_all()
    if not states:
        raise SystemExit(f"no gateways in {args.state_dir}; run `init` first")
    async with httpx.AsyncClient(timeout=10) as client:
        done = await register_gateways(
            states, provisioning_url=args.provisioning, domain_id=args.domain, token=args.token, client=client
        )
    print(json.dumps({"registered": done}))


async def _run(args: argparse.Namespace) -> None:
    store = FileStore(args.state_dir)
    states = ensure_gateways(
        store, count=args.gateways, phones=args.phones, product=args.product, phone_product=args.phone_product
    )
    async with httpx.AsyncClient(timeout=10) as client:
        fleet = Fleet(states=states, store=store, distributor_url=args.distributor, client=client)
        fleet.start()
        try:
            while True:
                await asyncio.sleep(args.report_every)
                for report in fleet.report():
                    print(json.dumps(report.as_json()), flush=True)
        finally:
            await fleet.stop()


async def _status(args: argparse.Namespace) -> None:
    store = FileStore(args.state_dir)
    jwks: dict[str, object] = {"keys": []}
    if args.distributor:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{args.distributor.rstrip('/')}/.well-known/jwks.json")
            response.raise_for_status()
            jwks = response.json()
    now = utc_now()
    for state in store.load_all():
        running: list[str] = []
        note = "no bundle"
        if state.bundle_jws:
            try:
                bundle = verify_bundle(
                    state.bundle_jws, jwks=jwks, hwid=state.hwid, highest_seq=state.highest_seq - 1, now=now
                )
                running = [p.hwid for p in state.phones if bundle.allows(p.hwid, now=now)]
                note = f"expires {bundle.expires_at.isoformat()}" if bundle.expires_at else "no expiry"
            except BundleRejected as rejected:
                note = f"stored bundle not valid now: {rejected.reason}"
        print(
            json.dumps(
                {
                    "hwid": state.hwid,
                    "public_key": state.public_key,
                    "seq": state.highest_seq,
                    "phones": [p.hwid for p in state.phones],
                    "phones_running": running,
                    "bundle": note,
                    "reboots": state.reboots,
                }
            )
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway_simulator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="one JSON file per gateway")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create gateway identities")
    init.add_argument("--gateways", type=int, default=3)
    init.add_argument("--phones", type=int, default=2, help="phones per gateway")
    init.add_argument("--product", default=GATEWAY_PRODUCT)
    init.add_argument("--phone-product", default=PHONE_PRODUCT)

    register = commands.add_parser("register", help="register the gateways with provisioning")
    register.add_argument("--provisioning", default="http://127.0.0.1:8003")
    register.add_argument("--domain", required=True, help="domain id")
    register.add_argument("--token", required=True, help="a partner or operator bearer token (make token ROLE=...)")

    run = commands.add_parser("run", help="run the gateways against the distributor")
    run.add_argument("--distributor", default="http://127.0.0.1:8004")
    run.add_argument("--gateways", type=int, default=3, help="created in --state-dir if fewer exist")
    run.add_argument("--phones", type=int, default=2)
    run.add_argument("--product", default=GATEWAY_PRODUCT)
    run.add_argument("--phone-product", default=PHONE_PRODUCT)
    run.add_argument("--report-every", type=float, default=10.0, help="seconds between reports (JSON lines)")

    status = commands.add_parser("status", help="what the stored bundles allow now")
    status.add_argument("--distributor", default=None, help="to fetch the JWKS and re-verify stored bundles")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    if args.command == "init":
        states = ensure_gateways(
            FileStore(args.state_dir),
            count=args.gateways,
            phones=args.phones,
            product=args.product,
            phone_product=args.phone_product,
        )
        for state in states:
            print(
                json.dumps(
                    {"hwid": state.hwid, "public_key": state.public_key, "phones": [p.hwid for p in state.phones]}
                )
            )
    elif args.command == "register":
        asyncio.run(_register(args))
    elif args.command == "run":
        try:
            asyncio.run(_run(args))
        except KeyboardInterrupt:
            sys.exit(0)
    else:
        asyncio.run(_status(args))


if __name__ == "__main__":
    main()
