-- Test clocks followed by every service, made robust (issue 18).
--
-- When the last step of a clock was announced, on the wallet's own clock: a step some follower has not answered for
-- a while is announced again (`wallet.scheduler`), so a lost or dead-lettered catch-up never leaves a clock
-- advancing for good. Every follower's catch-up is idempotent.
ALTER TABLE test_clock ADD COLUMN announced_at timestamptz;

-- Each announcement of a clock is numbered, and a follower's report names the announcement it answers: an instant
-- alone cannot tell a fresh report from one of an earlier advance that ended at the same instant.
ALTER TABLE test_clock ADD COLUMN announced_step bigint NOT NULL DEFAULT 0;
ALTER TABLE test_clock_follower ADD COLUMN step bigint NOT NULL DEFAULT 0;
