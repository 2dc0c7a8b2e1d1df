-- The run-out is also projected from the balance and the contracts' own rates: a RentalChanged reaches the
-- distributor before the wallet's RunwayChanged that follows from it, and a bundle must never run unbounded
-- in between (see domain.projected_run_out).
ALTER TABLE account_runway
    ADD COLUMN balance bigint,
    ADD COLUMN burn_rate_per_day bigint NOT NULL DEFAULT 0,
    ADD COLUMN at timestamptz;

ALTER TABLE contract_rental
    ADD COLUMN burn_rate_per_day bigint NOT NULL DEFAULT 0;
