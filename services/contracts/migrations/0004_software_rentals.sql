-- Software rental (issue 16): licences of a type (UC, VIDEO, FAX, SOFTPHONE...) rented per domain, `count` of them,
-- each at its type's tariff per day, from the same balance as the hardware. A software tariff is a row of `tariff`
-- (and its scheduled changes rows of `tariff_change`) under the product key 'licence:<TYPE>': a colon never appears
-- in a hardware product name (`schemas.PRODUCT_PATTERN`), so the two never meet, and the tariff job, the lease rule
-- for rises and the scheduled rates serve both without a second copy.
CREATE TABLE software_rental (
    id uuid PRIMARY KEY,
    contract_id uuid NOT NULL REFERENCES contract (id),
    domain_id uuid NOT NULL,
    type text NOT NULL,
    -- The tariff row this rental burns at.
    product text GENERATED ALWAYS AS ('licence:' || type) STORED,
    count integer NOT NULL CHECK (count > 0),
    -- Per licence; the rental burns count * rate_per_day.
    rate_per_day bigint NOT NULL CHECK (rate_per_day >= 0),
    status text NOT NULL CHECK (status IN ('active', 'ended')),
    started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    ended_at timestamptz,
    end_reason text,
    CHECK ((status = 'active') = (ended_at IS NULL))
);

-- One live rental of a type per domain: more licences are a change of its count, not a second rental.
CREATE UNIQUE INDEX software_rental_one_active_per_domain_type ON software_rental (domain_id, type)
    WHERE status = 'active';
CREATE INDEX software_rental_by_contract ON software_rental (contract_id, started_at DESC, id DESC);
CREATE INDEX software_rental_active_by_product ON software_rental (product) WHERE status = 'active';
