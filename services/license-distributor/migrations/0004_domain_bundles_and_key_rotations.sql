-- Fan-out proportional to what changed (issue 13).
--
-- domain_bundle: per domain, the content (with the signing key) that every live gateway's current bundle
-- carries. A rebuild locks the domain's row (not every gateway's), reads the rental inputs after the lock,
-- and re-signs the domain's gateways only when the content it computes differs from the stored one; a change
-- that leaves a domain's content as it was costs one row, not one signature per gateway.
CREATE TABLE domain_bundle (
    domain_id uuid PRIMARY KEY,
    -- NULL until the first rebuild (or when the gateways disagreed at migration time): the next one re-signs.
    kid text,
    content jsonb,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX domain_bundle_kid ON domain_bundle (kid);

-- Domains whose gateways all hold the same content keep it; the others are re-signed at their next change.
INSERT INTO domain_bundle (domain_id, kid, content)
SELECT g.domain_id,
       CASE WHEN count(DISTINCT b.content) = 1 AND bool_and(b.content IS NOT NULL) THEN min(b.kid) END,
       CASE WHEN count(DISTINCT b.content) = 1 AND bool_and(b.content IS NOT NULL) THEN (array_agg(b.content))[1] END
FROM gateway g
LEFT JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
WHERE g.removed_at IS NULL
GROUP BY g.domain_id;

-- A signing-key rotation, followed in the background: every domain whose kid is not the newest key's is
-- re-signed in batches (claimed with SKIP LOCKED, so replicas share the work and a crash loses nothing).
CREATE TABLE key_rotation (
    id uuid PRIMARY KEY,
    kid text NOT NULL REFERENCES signing_key (kid),
    requested_at timestamptz NOT NULL,
    -- Live gateways when it was asked for.
    gateways_total integer NOT NULL,
    bundles_reissued bigint NOT NULL DEFAULT 0,
    completed_at timestamptz,
    -- 'completed', or 'superseded' when a newer rotation took over its work.
    outcome text
);
CREATE INDEX key_rotation_pending ON key_rotation (requested_at) WHERE completed_at IS NULL;

-- The gateway session's own mark: a late disconnect of an older session never clears a newer one's.
CREATE INDEX gateway_connected_replica ON gateway (connected_replica) WHERE connected_replica IS NOT NULL;
