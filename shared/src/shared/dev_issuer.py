"""The development token issuer: a local Ed25519 key whose public JWKS the services trust in a local run.

Never used unless a service is configured with its JWKS file (the local default). Production configures
a real OpenID Connect issuer's JWKS URL instead.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import OKPKey

from shared.clock import Clock, SystemClock
from shared.config import DEFAULT_AUDIENCE, DEV_DIR, DEV_ISSUER


def load_or_create_key(directory: Path = DEV_DIR) -> OKPKey:
    """The private key in `issuer-key.json`, made on first use; `jwks.json` beside it is the public half."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / "issuer-key.json"
    if private_path.exists():
        key = OKPKey.import_key(json.loads(private_path.read_text()))
    else:
        key = OKPKey.generate_key("Ed25519", parameters={"kid": f"dev-{uuid.uuid4().hex[:8]}", "use": "sig"})
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(key.as_dict(private=True), fh)
    public = {"keys": [key.as_dict(private=False)]}
    jwks_path = directory / "jwks.json"
    if not jwks_path.exists() or json.loads(jwks_path.read_text()) != public:
        jwks_path.write_text(json.dumps(public))
    return key


def issue_token(
    key: OKPKey,
    *,
    roles: list[str],
    account_id: str | None = None,
    subject: str | None = None,
    issuer: str = DEV_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    ttl_s: int = 12 * 3600,
    clock: Clock | None = None,
) -> str:
    now = int((clock or SystemClock()).now().timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject or f"dev-{roles[0]}-{uuid.uuid4().hex[:6]}",
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "roles": roles,
    }
    if account_id:
        claims["account_id"] = account_id
    return jwt.encode({"alg": "Ed25519", "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=["Ed25519"])
