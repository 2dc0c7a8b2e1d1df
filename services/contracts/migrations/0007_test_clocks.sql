-- Test clocks (issue 18), followed from the wallet's events: an account opened on a clock lives on it, with its
-- contracts and rentals. A scheduled tariff change takes effect on a clock's contracts when that clock passes
-- its `effective_at` (the tariff job does it on the live ones at the real instant); `caught_up_to` is how far
-- contracts has done so on the clock.
ALTER TABLE known_account ADD COLUMN test_clock_id uuid;

CREATE TABLE test_clock (
    id uuid PRIMARY KEY,
    frozen_time timestamptz NOT NULL,
    caught_up_to timestamptz NOT NULL
);
