-- A crossing the monthly cap refused is tried again when the next month starts, although the runway has not
-- changed (issue 16): `retry_at` is that instant for the crossing handled at `handled_depletes_at`, NULL when it is
-- not tried again (it reloaded, or a partner's suspension refused it: ending the suspension re-evaluates it).
ALTER TABLE auto_reload ADD COLUMN retry_at timestamptz;
