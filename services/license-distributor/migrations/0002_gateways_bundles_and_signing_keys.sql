-- Gateways (read model of provisioning plus their session state), the rental inputs of a bundle
-- (read models of contracts and the wallet), the signing keys and every bundle issued.

CREATE TABLE gateway (
    id uuid PRIMARY KEY,
    domain_id uuid NOT NULL,
    account_id uuid NOT NULL,
    hwid text NOT NULL,
    product text NOT NULL,
    -- base64url of the raw 32-byte Ed25519 public key, as registered with provisioning.
    public_key text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    removed_at timestamptz,
    -- The seq of its current bundle (the newest row of `bundle` for this hwid).
    current_seq bigint NOT NULL DEFAULT 0,
    -- The highest seq the gateway confirmed it holds (ack, identify or pull).
    acked_seq bigint NOT NULL DEFAULT 0,
    -- The replica holding its WebSocket, if any; online only while that replica's heartbeat is fresh.
    connected_replica text,
    connected_at timestamptz,
    last_seen_at timestamptz
);

-- One live gateway per hardware id; a removed one may come back under a new registration.
CREATE UNIQUE INDEX gateway_live_hwid ON gateway (hwid) WHERE removed_at IS NULL;
CREATE INDEX gateway_domain ON gateway (domain_id) WHERE removed_at IS NULL;

CREATE TABLE replica_heartbeat (
    replica text PRIMARY KEY,
    beat_at timestamptz NOT NULL
);

-- The latest RentalChanged snapshot per contract; its per-domain part in rental_domain.
CREATE TABLE contract_rental (
    contract_id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    version bigint NOT NULL,
    active boolean NOT NULL,
    ends_at timestamptz
);

CREATE TABLE rental_domain (
    contract_id uuid NOT NULL REFERENCES contract_rental (contract_id),
    domain_id uuid NOT NULL,
    devices jsonb NOT NULL,
    licences jsonb NOT NULL,
    PRIMARY KEY (contract_id, domain_id)
);
CREATE INDEX rental_domain_domain ON rental_domain (domain_id);

-- The wallet's runway per account (RunwayChanged, BalanceDepleted, BalanceRestored), newest version wins.
CREATE TABLE account_runway (
    account_id uuid PRIMARY KEY,
    version bigint NOT NULL,
    depleted boolean NOT NULL,
    depletes_at timestamptz
);

-- Ed25519 signing keys as JWKs. The newest signs; older ones stay published while a gateway holds
-- a bundle they signed. (Kept in the database so every replica signs with the same key.)
CREATE TABLE signing_key (
    kid text PRIMARY KEY,
    private_jwk jsonb NOT NULL,
    public_jwk jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Every bundle issued, per hardware id (a gateway keeps its seq across re-registration).
CREATE TABLE bundle (
    hwid text NOT NULL,
    seq bigint NOT NULL,
    gateway_id uuid NOT NULL REFERENCES gateway (id),
    domain_id uuid NOT NULL,
    kid text NOT NULL REFERENCES signing_key (kid),
    -- The content compared to decide whether a rebuild changes anything (seq moves only then).
    content jsonb NOT NULL,
    expires_at timestamptz,
    jws text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (hwid, seq)
);

-- Bundles whose expiry the sweeper must act on.
CREATE INDEX bundle_expiry ON bundle (expires_at) WHERE expires_at IS NOT NULL;

-- One-time nonces for the HTTP pull (the WebSocket keeps its nonce in the session).
CREATE TABLE pull_challenge (
    nonce text PRIMARY KEY,
    hwid text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX pull_challenge_expiry ON pull_challenge (expires_at);
