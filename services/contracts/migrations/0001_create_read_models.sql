-- What contracts knows of other services' objects (read models fed by their events).
CREATE TABLE known_account (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    known_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE known_domain (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    name text NOT NULL,
    known_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
