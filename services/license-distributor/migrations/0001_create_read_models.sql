-- Domains as provisioning announced them (read model); gateways and bundles come with the distributor.
CREATE TABLE known_domain (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    name text NOT NULL,
    known_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
