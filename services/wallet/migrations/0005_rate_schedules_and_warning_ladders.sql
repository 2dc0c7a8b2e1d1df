-- Scheduled rate changes and each account's own warning ladder (issue 14).
--
-- A contract's rate comes with the tariff changes already scheduled for it (RentalChanged.scheduled_rates) and
-- the instant it changed (changed_at); an account burns along the sum of its contracts' step functions, so its
-- segment keeps the steps still ahead of the segment start. `warning_thresholds_s` is the account's own ladder
-- (seconds of time left, largest first); NULL means the deployment's ladder (WALLET_LOW_BALANCE_THRESHOLDS_S).

ALTER TABLE contract_rate
    ADD COLUMN changed_at timestamptz,
    ADD COLUMN scheduled_rates jsonb NOT NULL DEFAULT '[]';

ALTER TABLE account
    ADD COLUMN rate_schedule jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN warning_thresholds_s integer[]
        CHECK (warning_thresholds_s IS NULL OR (cardinality(warning_thresholds_s) > 0 AND 0 < ALL (warning_thresholds_s)));
