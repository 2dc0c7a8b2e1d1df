-- Scheduled tariff changes (issue 14): `PUT /v1/tariffs/{product}` with an `effective_at` ahead is kept here until
-- the tariff job applies it at that instant; one taking effect at once is kept too, as applied. A later PUT whose
-- change takes effect at or before a scheduled one supersedes it.
CREATE TABLE tariff_change (
    id uuid PRIMARY KEY,
    product text NOT NULL,
    rate_per_day bigint NOT NULL CHECK (rate_per_day >= 0),
    licences jsonb NOT NULL,
    effective_at timestamptz NOT NULL,
    scheduled_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'applied', 'superseded')),
    -- When it was applied or superseded.
    closed_at timestamptz,
    CHECK ((status = 'scheduled') = (closed_at IS NULL))
);

CREATE INDEX tariff_change_due ON tariff_change (effective_at) WHERE status = 'scheduled';
CREATE INDEX tariff_change_pending_by_product ON tariff_change (product, effective_at) WHERE status = 'scheduled';
