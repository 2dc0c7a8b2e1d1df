-- One schema and one login role per service; a role can touch only its own schema.
-- Run as a superuser against the platform's database (Docker's initdb runs it; `scripts/bootstrap_db.py`
-- runs it for local and test databases). Safe to run again. The passwords here are development defaults:
-- production sets its own with ALTER ROLE from a secret (see docs/operations.md).

DO $$
DECLARE
    service text;
BEGIN
    FOREACH service IN ARRAY ARRAY['wallet', 'contracts', 'provisioning', 'licensing'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = service) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', service, service);
        END IF;
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', service, service);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', service);
        EXECUTE format('ALTER ROLE %I SET search_path = %I', service, service);
    END LOOP;
END $$;

-- Nobody but the owner creates objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
