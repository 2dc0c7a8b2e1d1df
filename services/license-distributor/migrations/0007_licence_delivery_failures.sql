-- Licence delivery failures (issue 20): a bundle a connected gateway refused, or did not acknowledge within the
-- delivery deadline. One row per (gateway, seq), so `LicenceDeliveryFailed` is told once however many replicas
-- saw it and however often the gateway reconnects and refuses the same bundle again. Written on failure only:
-- a delivery that is acknowledged costs no write here.
CREATE TABLE delivery_failure (
    gateway_id uuid NOT NULL REFERENCES gateway (id),
    seq bigint NOT NULL,
    reason text NOT NULL,
    failed_at timestamptz NOT NULL,
    PRIMARY KEY (gateway_id, seq)
);
CREATE INDEX delivery_failure_failed_at ON delivery_failure (failed_at);
