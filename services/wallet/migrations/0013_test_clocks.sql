-- Test clocks (issue 18): a simulated time that accounts opened on it live by for their whole life. Advancing a
-- clock works through everything its accounts had due up to the new instant, in time order, as real time would
-- have (`wallet.clocks`). While it advances, `advancing_to` is the instant asked for and `frozen_time` the progress
-- so far (a replica that takes over after a crash goes on from there); `advanced_by` and `advanced_until` are the
-- lease of the replica doing it. A deleted clock is kept, with its accounts, but nothing is ever due on it again.
CREATE TABLE test_clock (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    -- Who created it (a token's subject): a partner sees its own clocks, an operator all.
    owner text NOT NULL,
    frozen_time timestamptz NOT NULL,
    advancing_to timestamptz CHECK (advancing_to >= frozen_time),
    advanced_by text,
    advanced_until timestamptz,
    created_at timestamptz NOT NULL,
    deleted_at timestamptz
);

CREATE INDEX test_clock_advancing ON test_clock (advancing_to) WHERE advancing_to IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX test_clock_owner ON test_clock (owner, created_at, id) WHERE deleted_at IS NULL;

-- NULL: a live account, on the wallet's own clock. Set when the account is opened, never changed.
ALTER TABLE account ADD COLUMN test_clock_id uuid REFERENCES test_clock (id);
CREATE INDEX account_test_clock ON account (test_clock_id) WHERE test_clock_id IS NOT NULL;
