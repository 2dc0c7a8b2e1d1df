-- Contracts, their domain links, tariffs, rentals and history; plus the read models of provisioned devices
-- and of each account's funding (from the wallet's events).

CREATE TABLE contract (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    status text NOT NULL
        CHECK (status IN ('draft', 'pending_approval', 'active', 'suspended', 'terminated')),
    -- Version of the last RentalChanged published for this contract (monotonic; 0 = none yet).
    rental_version bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX contract_by_account ON contract (account_id, created_at DESC, id DESC);

CREATE TABLE contract_domain (
    contract_id uuid NOT NULL REFERENCES contract (id),
    domain_id uuid NOT NULL,
    linked_at timestamptz NOT NULL,
    unlinked_at timestamptz
);

-- A domain gives access rights to one contract at a time; its licences come from exactly one rental.
CREATE UNIQUE INDEX contract_domain_one_live_link ON contract_domain (domain_id) WHERE unlinked_at IS NULL;
CREATE INDEX contract_domain_by_contract ON contract_domain (contract_id) WHERE unlinked_at IS NULL;

CREATE TABLE tariff (
    product text PRIMARY KEY,
    rate_per_day bigint NOT NULL CHECK (rate_per_day >= 0),
    licences jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE known_device (
    id uuid PRIMARY KEY,
    domain_id uuid NOT NULL,
    account_id uuid NOT NULL,
    hwid text NOT NULL,
    product text NOT NULL,
    type text NOT NULL,
    -- Removal is final: a DeviceProvisioned arriving after its DeviceRemoved never resurrects the device.
    removed_at timestamptz,
    known_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX known_device_by_domain ON known_device (domain_id, id) WHERE removed_at IS NULL;

CREATE TABLE account_funding (
    account_id uuid PRIMARY KEY,
    balance bigint NOT NULL,
    depletes_at timestamptz,
    -- (version, rank) of the wallet event applied last; older ones are ignored.
    version bigint NOT NULL,
    rank integer NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE rental (
    id uuid PRIMARY KEY,
    contract_id uuid NOT NULL REFERENCES contract (id),
    domain_id uuid NOT NULL,
    device_id uuid NOT NULL,
    hwid text NOT NULL,
    product text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'deactivated', 'replaced')),
    rate_per_day bigint NOT NULL CHECK (rate_per_day >= 0),
    activated_at timestamptz NOT NULL,
    ended_at timestamptz,
    end_reason text,
    replaced_by uuid REFERENCES rental (id),
    CHECK ((status = 'active') = (ended_at IS NULL)),
    CHECK ((status = 'replaced') = (replaced_by IS NOT NULL))
);

-- The last word on "not already rented": two concurrent activations of one device leave one rental.
CREATE UNIQUE INDEX rental_one_active_per_device ON rental (device_id) WHERE status = 'active';
CREATE INDEX rental_by_contract ON rental (contract_id, activated_at DESC, id DESC);
CREATE INDEX rental_active_by_product ON rental (product) WHERE status = 'active';

-- History: contract_id is null for wallet events, which concern every contract of the account.
CREATE TABLE history_entry (
    id bigserial PRIMARY KEY,
    account_id uuid NOT NULL,
    contract_id uuid REFERENCES contract (id),
    at timestamptz NOT NULL,
    type text NOT NULL,
    summary text NOT NULL,
    data jsonb NOT NULL,
    -- For entries made from another service's event: a natural key, so a replayed event adds no second entry.
    source_key text UNIQUE
);

CREATE INDEX history_entry_by_account ON history_entry (account_id, at DESC, id DESC);
