"""Print a development token (the JWT alone, one line) that a local run accepts: `make token ROLE=...`."""

from __future__ import annotations

import argparse
import uuid

from license_distributor.key_encryption import DEV_KEK_FILE, load_or_create_kek_file
from shared.auth import Role
from shared.config import DEV_DIR
from shared.dev_issuer import issue_token, load_or_create_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--account", default=None, help="account id (required for a customer)")
    parser.add_argument("--subject", default=None)
    parser.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    args = parser.parse_args()
    if args.role == Role.CUSTOMER and not args.account:
        parser.error("a customer token needs ACCOUNT=<account id>")
    if args.account:
        try:
            uuid.UUID(args.account)
        except ValueError:
            parser.error(f"ACCOUNT must be a UUID, got {args.account!r}")
    key = load_or_create_key()
    # The other development secret in .dev/: the distributor's key-encryption key (docker-compose.yml mounts it).
    load_or_create_kek_file(DEV_DIR / DEV_KEK_FILE)
    print(issue_token(key, roles=[args.role], account_id=args.account, subject=args.subject, ttl_s=args.ttl))


if __name__ == "__main__":
    main()
