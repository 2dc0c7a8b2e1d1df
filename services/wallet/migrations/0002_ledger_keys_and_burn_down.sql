-- The money: settled balance and burn state per account, the double-entry ledger, activation keys,
-- and the burn rate of each contract an account funds (a read model fed by RentalChanged).

ALTER TABLE account
    ADD COLUMN balance bigint NOT NULL DEFAULT 0 CONSTRAINT account_balance_never_negative CHECK (balance >= 0),
    ADD COLUMN burn_rate_per_day bigint NOT NULL DEFAULT 0 CHECK (burn_rate_per_day >= 0),
    ADD COLUMN settled_at timestamptz,
    ADD COLUMN segment_start timestamptz,
    ADD COLUMN segment_used bigint NOT NULL DEFAULT 0 CHECK (segment_used >= 0),
    ADD COLUMN depleted boolean NOT NULL DEFAULT false,
    -- Derived from the columns above at every write; the depletion scheduler's work list.
    ADD COLUMN depletes_at timestamptz,
    ADD COLUMN low_warned_threshold_s integer,
    ADD COLUMN low_check_at timestamptz,
    -- Monotonic per account; carried by RunwayChanged, BalanceDepleted and BalanceRestored.
    ADD COLUMN version bigint NOT NULL DEFAULT 0;

UPDATE account SET settled_at = opened_at, segment_start = opened_at;
ALTER TABLE account
    ALTER COLUMN settled_at SET NOT NULL,
    ALTER COLUMN settled_at SET DEFAULT clock_timestamp(),
    ALTER COLUMN segment_start SET NOT NULL,
    ALTER COLUMN segment_start SET DEFAULT clock_timestamp();

CREATE INDEX account_depletes_at ON account (depletes_at) WHERE depletes_at IS NOT NULL;
CREATE INDEX account_low_check_at ON account (low_check_at) WHERE low_check_at IS NOT NULL;
CREATE INDEX account_burning_settled_at ON account (settled_at) WHERE burn_rate_per_day > 0 AND balance > 0;

-- One entry per business fact; its lines (below) sum to zero. `amount` is the change of the customer's
-- wallet and `balance_after` the settled balance right after it.
CREATE TABLE ledger_entry (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    account_id uuid NOT NULL REFERENCES account (id),
    kind text NOT NULL CHECK (kind IN ('redemption', 'usage', 'adjustment')),
    amount bigint NOT NULL CHECK (amount <> 0),
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    at timestamptz NOT NULL,
    key_id uuid,
    period_start timestamptz,
    period_end timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX ledger_entry_account ON ledger_entry (account_id, seq);

CREATE TABLE ledger_line (
    entry_seq bigint NOT NULL REFERENCES ledger_entry (seq),
    book text NOT NULL CHECK (book IN ('customer_wallet', 'keys_issued', 'usage_earned', 'adjustments')),
    amount bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_seq, book)
);

-- Double entry, checked by the store at commit: every entry's lines sum to zero and its customer line
-- equals the entry's amount.
CREATE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry record;
    total bigint;
    wallet bigint;
BEGIN
    SELECT seq, amount INTO entry FROM ledger_entry
     WHERE seq = CASE TG_TABLE_NAME WHEN 'ledger_entry' THEN NEW.seq ELSE NEW.entry_seq END;
    SELECT coalesce(sum(amount), 0), coalesce(sum(amount) FILTER (WHERE book = 'customer_wallet'), 0)
      INTO total, wallet FROM ledger_line WHERE entry_seq = entry.seq;
    IF total <> 0 OR wallet <> entry.amount THEN
        RAISE EXCEPTION 'ledger entry % does not balance (lines sum to %, wallet line % vs amount %)',
            entry.seq, total, wallet, entry.amount USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();
CREATE CONSTRAINT TRIGGER ledger_line_balanced AFTER INSERT ON ledger_line
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();

-- Append-only: corrections are new entries, never edits.
CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_line_append_only BEFORE UPDATE OR DELETE ON ledger_line
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_line_no_truncate BEFORE TRUNCATE ON ledger_line
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();

CREATE TABLE key_batch (
    id uuid PRIMARY KEY,
    amount bigint NOT NULL CHECK (amount > 0),
    key_count integer NOT NULL CHECK (key_count > 0),
    issued_by text NOT NULL,
    issued_at timestamptz NOT NULL
);

-- Only the SHA-256 of a code is kept; the code itself is shown once, in the batch's response.
CREATE TABLE activation_key (
    id uuid PRIMARY KEY,
    batch_id uuid NOT NULL REFERENCES key_batch (id),
    code_hash bytea NOT NULL UNIQUE CHECK (length(code_hash) = 32),
    amount bigint NOT NULL CHECK (amount > 0),
    status text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'redeemed', 'revoked')),
    redeemed_into uuid REFERENCES account (id),
    redeemed_at timestamptz,
    revoked_at timestamptz,
    revoked_by text,
    CHECK ((status = 'redeemed') = (redeemed_into IS NOT NULL AND redeemed_at IS NOT NULL)),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

CREATE INDEX activation_key_batch ON activation_key (batch_id);

-- The contracts an account funds, each at the rate of its newest RentalChanged (0 while not active).
CREATE TABLE contract_rate (
    contract_id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES account (id),
    burn_rate_per_day bigint NOT NULL CHECK (burn_rate_per_day >= 0),
    version bigint NOT NULL,
    applied_at timestamptz NOT NULL
);

CREATE INDEX contract_rate_account ON contract_rate (account_id);
