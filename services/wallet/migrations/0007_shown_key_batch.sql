-- The codes of a key batch, sealed (AES-GCM) for the partner that issued it, for 24 hours: a retry of the batch's
-- request (its response was lost) gets the first answer again. Past `expires_at` a row is never opened, and it is
-- deleted; the retry is then told `codes_already_shown` with the ids, as before.
CREATE TABLE shown_key_batch (
    batch_id uuid PRIMARY KEY REFERENCES key_batch (id),
    issued_by text NOT NULL,
    -- The 96-bit nonce and the ciphertext with its tag; the batch id and `issued_by` are the associated data.
    nonce bytea NOT NULL CHECK (length(nonce) = 12),
    sealed bytea NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX shown_key_batch_expiry ON shown_key_batch (expires_at);
