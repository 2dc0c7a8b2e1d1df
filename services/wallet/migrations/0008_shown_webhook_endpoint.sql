-- A webhook registration's answer (the endpoint with its signing secret), sealed (AES-GCM, shared.sealing) for the
-- principal that registered it, for 24 hours: a retry of the registration with the same Idempotency-Key (its answer
-- was lost) gets the first answer again, as a key batch's retry does. Past `expires_at`, or once the endpoint is
-- deleted, the row is gone and the retry is told `webhook_secret_already_shown` with the endpoint's id.
CREATE TABLE shown_webhook_endpoint (
    endpoint_id uuid PRIMARY KEY REFERENCES webhook_endpoint (id),
    registered_by text NOT NULL,
    -- The 96-bit nonce and the ciphertext with its tag; the endpoint id and `registered_by` are the associated data.
    nonce bytea NOT NULL CHECK (length(nonce) = 12),
    sealed bytea NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX shown_webhook_endpoint_expiry ON shown_webhook_endpoint (expires_at);
