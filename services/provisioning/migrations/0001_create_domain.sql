-- Accounts as the wallet announced them (read model), and the PBX domains that belong to them.
CREATE TABLE known_account (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    known_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE domain (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES known_account (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (account_id, name)
);
