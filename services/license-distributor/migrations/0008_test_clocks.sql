-- Test clocks (issue 18), followed from the wallet's events: the domains of an account on a clock get bundles on
-- the clock's time (`iat`, `nbf`, `exp` and the lease, marked simulated), and their lease renewals and expiries
-- happen when the clock passes them, never on the distributor's own clock.
CREATE TABLE test_clock (
    id uuid PRIMARY KEY,
    frozen_time timestamptz NOT NULL
);

CREATE TABLE account_on_test_clock (
    account_id uuid PRIMARY KEY,
    test_clock_id uuid NOT NULL
);

CREATE INDEX account_on_test_clock_clock ON account_on_test_clock (test_clock_id);
