-- Revocable keys, encrypted at rest (issue 14).
--
-- private_jwk_sealed: the private JWK sealed with AES-256-GCM under the key-encryption key of the environment
-- (LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY), as nonce (12 bytes) || ciphertext and tag, the kid as associated data.
-- A key stored before this migration keeps its plaintext `private_jwk` until the distributor starts with a KEK:
-- it seals every such row at start and clears the plaintext (key_encryption.seal_plaintext_keys). A row holds one
-- form or the other, never both.
ALTER TABLE signing_key
    ALTER COLUMN private_jwk DROP NOT NULL,
    ADD COLUMN private_jwk_sealed bytea,
    -- When a newer key took over signing, and until when it stays published for that reason alone (its grace).
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN published_until timestamptz,
    -- Revoked: never published, never used to sign again.
    ADD COLUMN revoked_at timestamptz,
    ADD CONSTRAINT signing_key_one_private_form CHECK ((private_jwk IS NULL) <> (private_jwk_sealed IS NULL));

-- Keys already rotated out: retired when the next key was made, with the default grace (one day) from now.
UPDATE signing_key k
SET retired_at = n.next_created_at,
    published_until = GREATEST(n.next_created_at, clock_timestamp()) + interval '1 day'
FROM (
    SELECT kid, lead(created_at) OVER (ORDER BY created_at, kid) AS next_created_at FROM signing_key
) n
WHERE n.kid = k.kid AND n.next_created_at IS NOT NULL;

-- Every revocation, as the operator asked for it and what it did.
CREATE TABLE key_revocation (
    kid text PRIMARY KEY REFERENCES signing_key (kid),
    revoked_at timestamptz NOT NULL,
    revoked_by text NOT NULL,
    -- The key that signs from now on (a new one when the revoked key was the newest).
    replaced_by text NOT NULL REFERENCES signing_key (kid),
    rotated boolean NOT NULL,
    bundles_resigned integer NOT NULL,
    domains_resigned integer NOT NULL
);
