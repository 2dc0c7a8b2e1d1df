-- Auto-iSC (issue 16): an account's standing order to reload when the time left falls to a threshold, the orders
-- its partner fulfils and invoices, and the book they are credited from.
--
-- A reload is due at `account.depletes_at - threshold_s` (the run-out the burn-down already keeps); the scheduler
-- handles each crossing once: `auto_reload_crossing` is keyed by (account, crossing number), and the crossing
-- number moves under the account's row lock. `handled_depletes_at` is the run-out at which the last crossing was
-- handled: a crossing that failed is not tried again until the runway changes.

-- Whether the contract was active in its newest RentalChanged (Auto-iSC needs an active contract). Rows from before
-- this column burned only while active.
ALTER TABLE contract_rate ADD COLUMN active boolean;
UPDATE contract_rate SET active = burn_rate_per_day > 0;
ALTER TABLE contract_rate ALTER COLUMN active SET NOT NULL, ALTER COLUMN active SET DEFAULT false;

-- The partner an operator assigned the account to (NULL: the partner that opened it); it fulfils the reloads.
ALTER TABLE account ADD COLUMN assigned_partner text;

CREATE TABLE auto_reload (
    account_id uuid PRIMARY KEY REFERENCES account (id),
    threshold_s integer NOT NULL CHECK (threshold_s > 0),
    amount bigint NOT NULL CHECK (amount > 0),
    monthly_cap bigint NOT NULL CHECK (monthly_cap > 0),
    enabled boolean NOT NULL,
    suspended_by_partner boolean NOT NULL DEFAULT false,
    -- The account ran out: no reload until the customer acts (a redemption, or setting Auto-iSC again).
    paused_by_depletion boolean NOT NULL DEFAULT false,
    crossings integer NOT NULL DEFAULT 0,
    handled_depletes_at timestamptz,
    last_reload_at timestamptz,
    last_failure_at timestamptz,
    last_failure_reason text,
    set_by text NOT NULL,
    set_at timestamptz NOT NULL
);

CREATE TABLE reload_order (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES account (id),
    partner text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    ordered_at timestamptz NOT NULL,
    crossing integer NOT NULL,
    -- The ledger entry that credited it: exactly one per order.
    ledger_entry_id uuid NOT NULL UNIQUE REFERENCES ledger_entry (id),
    UNIQUE (account_id, crossing)
);

CREATE INDEX reload_order_partner ON reload_order (partner, ordered_at DESC, id);
CREATE INDEX reload_order_ordered_at ON reload_order (ordered_at DESC, id);

-- Every crossing handled, reloaded or refused: the key that makes a crossing happen once.
CREATE TABLE auto_reload_crossing (
    account_id uuid NOT NULL REFERENCES account (id),
    crossing integer NOT NULL,
    at timestamptz NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('reloaded', 'failed')),
    reason text,
    -- Deferred: the crossing is claimed first, before any money moves; its order is written after.
    order_id uuid REFERENCES reload_order (id) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (account_id, crossing),
    CHECK ((outcome = 'reloaded') = (order_id IS NOT NULL))
);

ALTER TABLE ledger_entry DROP CONSTRAINT ledger_entry_kind_check;
ALTER TABLE ledger_entry ADD CONSTRAINT ledger_entry_kind_check
    CHECK (kind IN ('redemption', 'usage', 'adjustment', 'auto_reload'));
ALTER TABLE ledger_line DROP CONSTRAINT ledger_line_book_check;
ALTER TABLE ledger_line ADD CONSTRAINT ledger_line_book_check
    CHECK (book IN ('customer_wallet', 'keys_issued', 'usage_earned', 'adjustments', 'reload_orders'));
