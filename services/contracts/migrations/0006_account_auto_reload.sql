-- The account's Auto-iSC setting as the wallet last announced it (`AutoReloadChanged`), and the reloads it made
-- (`AutoReloadTriggered`), for the forecast (issue 16): the what-if run-out counts the reloads Auto-iSC would make,
-- by the wallet's own rules (`shared.auto_reload.planned_reloads`), within what is left of the month's cap.
CREATE TABLE account_auto_reload (
    account_id uuid PRIMARY KEY,
    enabled boolean NOT NULL,
    suspended_by_partner boolean NOT NULL,
    threshold_s bigint,
    amount bigint,
    monthly_cap bigint,
    -- The wallet's instant of the change: the newest wins, whatever order the events arrive in.
    changed_at timestamptz NOT NULL
);

-- One row per crossing the wallet reloaded (its idempotency key with the account): the month's cap counts them.
CREATE TABLE account_auto_reload_done (
    account_id uuid NOT NULL,
    crossing bigint NOT NULL,
    amount bigint NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (account_id, crossing)
);
