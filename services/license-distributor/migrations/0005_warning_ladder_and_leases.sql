-- Issue 14: one warning ladder, and leases.
--
-- account_runway.warnings_at: the wallet's warning ladder (RunwayChanged.warnings_at) as instants; every bundle
-- of the account's domains signs them in. Empty until the wallet announces one: no warnings.
ALTER TABLE account_runway
    ADD COLUMN warnings_at timestamptz[] NOT NULL DEFAULT '{}';

-- domain_bundle.lease_ends_at: when the lease of the domain's current bundles ends (NULL when nothing runs),
-- kept from the content document so the renewal job finds the domains whose lease is due by an index.
ALTER TABLE domain_bundle
    ADD COLUMN lease_ends_at timestamptz;
-- Bundles signed before leases existed may run unbounded offline: a running domain is due at once, so the
-- renewal job re-signs it with a lease (and the ladder) as soon as the distributor starts.
UPDATE domain_bundle SET lease_ends_at = clock_timestamp()
WHERE content IS NOT NULL AND jsonb_array_length(content -> 'devices') > 0;
CREATE INDEX domain_bundle_lease_ends_at ON domain_bundle (lease_ends_at) WHERE lease_ends_at IS NOT NULL;
