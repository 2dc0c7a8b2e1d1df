-- Accounts: the customer's wallet. Money columns come with the ledger.
CREATE TABLE account (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    opened_by text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
