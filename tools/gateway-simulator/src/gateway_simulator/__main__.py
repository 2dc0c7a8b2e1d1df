"""`python -m gateway_simulator <command>`: create, register, run and inspect simulated gateways.

init      create N gateway identities (key, hwid, phones) in --state-dir, if fewer exist; prints one JSON line
          per gateway (hwid, product, public_key, phones), which the web app's "Add a gateway" accepts as it is
register  register them with provisioning (POST /v1/domains/{id}/gateways) in a domain given by id or name
enrol     the gateways' phones enrol themselves with a provisioning code (POST /v1/provisioning)
run       keep every gateway's session with the distributor; print a report every --report-every seconds
          (with the warnings raised); gateways created by `init` meanwhile are started, and one registered
          meanwhile connects within seconds; the keys are fetched again every --key-refresh seconds
status    print, from the state on disk, each gateway's seq and which phones its stored bundle lets run, and its
          warnings (raised: their instant has come), verified with the keys the gateway trusts
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

import httpx
import structlog

from gateway_simulator.fleet import Fleet, enrol_phones, phones_of, register_gateways, resolve_domain
from gateway_simulator.gateway import KEY_REFRESH_S, utc_now
from gateway_simulator.identity import GATEWAY_PRODUCT, PHONE_PRODUCT, FileStore, GatewayState
from gateway_simulator.verifier import BundleRejected, verify_bundle

DEFAULT_STATE_DIR = Path(".dev/gateways")
JWKS_FILE = "jwks.json"  # the distributor's keys as last fetched by `run`, kept beside the gateways' state


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
    if not args.token:
        raise SystemExit("a token is needed: --token or RENTAL_TOKEN (make token ROLE=partner)")
    if args.gateway:
        states = [s for s in states if s.hwid in set(args.gateway)]
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            domain_id = await resolve_domain(
                args.domain, provisioning_url=args.provisioning, token=args.token, client=client
            )
        except LookupError as missing:
            raise SystemExit(str(missing)) from None
        done = await register_gateways(
            states, provisioning_url=args.provisioning, domain_id=domain_id, token=args.token, client=client
        )
    print(json.dumps({"domain_id": domain_id, "registered": done}))


async def _enrol(args: argparse.Namespace) -> None:
    states = FileStore(args.state_dir).load_all()
    try:
        phones = phones_of(states, gateway=args.gateway, count=args.phones)
    except LookupError as missing:
        raise SystemExit(str(missing)) from None
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            enrolled = await enrol_phones(phones, code=args.code, provisioning_url=args.provisioning, client=client)
        except RuntimeError as refused:
            raise SystemExit(str(refused)) from None
    for phone in enrolled:
        print(json.dumps(phone))


async def _run(args: argparse.Namespace) -> None:
    store = FileStore(args.state_dir)
    # At least --gateways; every gateway in the state directory runs (the demo seeding may have made more).
    ensure_gateways(
        store, count=args.gateways, phones=args.phones, product=args.product, phone_product=args.phone_product
    )
    states = store.load_all()
    async with httpx.AsyncClient(timeout=10) as client:
        fleet = Fleet(
            states=states,
            store=store,
            distributor_url=args.distributor,
            client=client,
            jwks_file=args.state_dir / JWKS_FILE,
            key_refresh_s=args.key_refresh,
            follow_test_clock=args.follow_test_clock,
        )
        fleet.start()
        loop = asyncio.get_running_loop()
        next_report = loop.time() + args.report_every
        try:
            while True:
                # Look for gateways created meanwhile (`init` in another shell) every second or so.
                await asyncio.sleep(min(1.0, args.report_every))
                for gateway in fleet.add(store.load_all()):
                    print(json.dumps({"started": gateway.hwid}), flush=True)
                if loop.time() >= next_report:
                    next_report += args.report_every
                    for report in fleet.report():
                        print(json.dumps(report.as_json()), flush=True)
        finally:
            await fleet.stop()


async def _status(args: argparse.Namespace) -> None:
    store = FileStore(args.state_dir)
    jwks: dict[str, object] = {"keys": []}
    kept = args.state_dir / JWKS_FILE
    if kept.is_file():
        # The keys the gateways last fetched, as a gateway would verify its stored bundle after a restart.
        jwks = json.loads(kept.read_text())
    if args.distributor:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{args.distributor.rstrip('/')}/.well-known/jwks.json")
            response.raise_for_status()
            jwks = response.json()
    now = utc_now()
    for state in store.load_all():
        if args.gateway and state.hwid not in set(args.gateway):
            continue
        running: list[str] = []
        note = "no bundle"
        warnings: list[dict[str, object]] = []
        lease: str | None = None
        if state.bundle_jws:
            try:
                bundle = verify_bundle(
                    state.bundle_jws,
                    # The keys this gateway trusts, unless --distributor asked for the published ones.
                    jwks=jwks if args.distributor or state.trusted_keys is None else state.trusted_keys,
                    hwid=state.hwid,
                    highest_seq=state.highest_seq - 1,
                    now=now,
                )
                running = [p.hwid for p in state.phones if bundle.allows(p.hwid, now=now)]
                note = f"expires {bundle.expires_at.isoformat()}" if bundle.expires_at else "no expiry"
                lease = bundle.lease_ends_at.isoformat() if bundle.lease_ends_at else None
                warnings = [
                    {"at": w.at.isoformat(), "time_left_s": w.time_left_s, "raised": w.at <= now}
                    for w in bundle.warnings
                ]
            except BundleRejected as rejected:
                note = f"stored bundle not valid now: {rejected.reason}"
        raised = [w for w in warnings if w["raised"]]
        print(
            json.dumps(
                {
                    "hwid": state.hwid,
                    "public_key": state.public_key,
                    "seq": state.highest_seq,
                    "phones": [p.hwid for p in state.phones],
                    "phones_running": running,
                    "phones_stopped": [p.hwid for p in state.phones if p.hwid not in running],
                    "bundle": note,
                    "lease_ends_at": lease,
                    "warnings": warnings,
                    "warning": raised[-1] if raised else None,
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
    init.add_argument("--gateways", type=int, default=3, help="at least this many in --state-dir (prints them)")
    init.add_argument("--add", type=int, default=None, help="create this many more, and print only those")
    init.add_argument("--phones", type=int, default=2, help="phones per gateway")
    init.add_argument("--product", default=GATEWAY_PRODUCT)
    init.add_argument("--phone-product", default=PHONE_PRODUCT)

    register = commands.add_parser("register", help="register the gateways with provisioning")
    register.add_argument("--provisioning", default="http://127.0.0.1:8003")
    register.add_argument("--domain", required=True, help="domain id, or its name as created in the web app")
    register.add_argument(
        "--token",
        default=os.environ.get("RENTAL_TOKEN"),
        help="a bearer token of the domain's customer, a partner or an operator (make token ROLE=partner); "
        "default: $RENTAL_TOKEN",
    )
    register.add_argument("--gateway", action="append", help="only this hwid (repeatable); default: every gateway")

    enrol = commands.add_parser("enrol", help="enrol the gateways' phones with a provisioning code")
    enrol.add_argument("--provisioning", default="http://127.0.0.1:8003")
    enrol.add_argument("--code", required=True, help="a provisioning code (the web app's Devices step shows one)")
    enrol.add_argument("--gateway", default=None, help="only this gateway's phones (hwid)")
    enrol.add_argument("--phones", type=int, default=None, help="at most this many phones")

    run = commands.add_parser("run", help="run the gateways against the distributor")
    run.add_argument("--distributor", default="http://127.0.0.1:8004")
    run.add_argument("--gateways", type=int, default=3, help="created in --state-dir if fewer exist")
    run.add_argument("--phones", type=int, default=2)
    run.add_argument("--product", default=GATEWAY_PRODUCT)
    run.add_argument("--phone-product", default=PHONE_PRODUCT)
    run.add_argument("--report-every", type=float, default=10.0, help="seconds between reports (JSON lines)")
    run.add_argument(
        "--key-refresh", type=float, default=KEY_REFRESH_S, help="seconds between fetches of the trusted keys"
    )
    run.add_argument(
        "--follow-test-clock",
        action="store_true",
        help="a sandbox gateway: accept bundles signed on a test clock and run on the time the distributor tells"
        " (default: a production gateway, which refuses them)",
    )

    status = commands.add_parser("status", help="what the stored bundles allow now")
    status.add_argument(
        "--distributor", default=None, help="to fetch the JWKS now (default: the keys `run` last fetched)"
    )
    status.add_argument("--gateway", action="append", help="only this hwid (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    if args.command == "init":
        store = FileStore(args.state_dir)
        if args.add is not None:
            # New identities only, e.g. one more gateway to add in the web app beside those already running.
            states = [
                GatewayState.generate(phones=args.phones, product=args.product, phone_product=args.phone_product)
                for _ in range(args.add)
            ]
            for state in states:
                store.save(state)
        else:
            states = ensure_gateways(
                store,
                count=args.gateways,
                phones=args.phones,
                product=args.product,
                phone_product=args.phone_product,
            )
        for state in states:
            print(
                json.dumps(
                    {
                        "hwid": state.hwid,
                        "product": state.product,
                        "public_key": state.public_key,
                        "phones": [p.hwid for p in state.phones],
                    }
                )
            )
    elif args.command == "register":
        asyncio.run(_register(args))
    elif args.command == "enrol":
        asyncio.run(_enrol(args))
    elif args.command == "run":
        try:
            asyncio.run(_run(args))
        except KeyboardInterrupt:
            sys.exit(0)
    else:
        asyncio.run(_status(args))


if __name__ == "__main__":
    main()
