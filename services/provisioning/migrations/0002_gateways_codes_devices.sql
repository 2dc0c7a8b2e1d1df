-- Gateways with their Ed25519 public keys, provisioning codes (hashed), and the devices that enrolled.
-- Removed gateways and devices keep their row (removed_at) for the record; a hardware id is unique among
-- the present ones only, so a unit can be registered again after its removal.

CREATE TABLE gateway (
    id uuid PRIMARY KEY,
    domain_id uuid NOT NULL REFERENCES domain (id),
    hwid text NOT NULL CHECK (hwid ~ '^[0-9a-f]{12}$'),
    product text NOT NULL,
    -- Unpadded base64url of the raw 32-byte key.
    public_key text NOT NULL CHECK (length(public_key) = 43),
    registered_at timestamptz NOT NULL,
    removed_at timestamptz
);

CREATE UNIQUE INDEX gateway_present_hwid ON gateway (hwid) WHERE removed_at IS NULL;
CREATE INDEX gateway_present_by_domain ON gateway (domain_id, registered_at, id) WHERE removed_at IS NULL;

CREATE TABLE provisioning_code (
    id uuid PRIMARY KEY,
    domain_id uuid NOT NULL REFERENCES domain (id),
    -- SHA-256 of the normalised code; the code itself is shown once, at creation.
    code_hash bytea NOT NULL UNIQUE,
    code_hint text NOT NULL,
    max_uses integer NOT NULL CHECK (max_uses >= 1),
    uses integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX provisioning_code_by_domain ON provisioning_code (domain_id, created_at, id);

CREATE TABLE device (
    id uuid PRIMARY KEY,
    domain_id uuid NOT NULL REFERENCES domain (id),
    hwid text NOT NULL CHECK (hwid ~ '^[0-9a-f]{12}$'),
    product text NOT NULL,
    type text NOT NULL,
    provisioning_code_id uuid REFERENCES provisioning_code (id),
    provisioned_at timestamptz NOT NULL,
    removed_at timestamptz
);

CREATE UNIQUE INDEX device_present_hwid ON device (hwid) WHERE removed_at IS NULL;
CREATE INDEX device_present_by_domain ON device (domain_id, provisioned_at, id) WHERE removed_at IS NULL;
