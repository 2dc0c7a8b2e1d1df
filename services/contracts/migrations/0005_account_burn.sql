-- The account's burn as the wallet last announced it (`RunwayChanged.burn`), for the forecast (issue 16): the
-- what-if run-out is computed with the wallet's own code (`shared.burn`) from exactly this state. Kept apart from
-- `account_funding`, whose (version, rank) order lets a depletion or restoration outrank a runway of one version.
CREATE TABLE account_burn (
    account_id uuid PRIMARY KEY,
    version bigint NOT NULL,
    state jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
