-- Test clocks followed by every service (issue 18): the wallet moves a clock in steps, announcing each instant
-- (`TestClockAdvanced`); contracts and the licence distributor each do their own due work up to it and say so,
-- with their next instant of work due. `announced_time` is the last instant announced (NULL: none since the
-- advance was asked for); the next step waits until every follower caught up with it, and stops at the earliest
-- `next_due_at` of theirs.
ALTER TABLE test_clock ADD COLUMN announced_time timestamptz;

CREATE TABLE test_clock_follower (
    test_clock_id uuid NOT NULL REFERENCES test_clock (id),
    -- The follower's name as it publishes (`contracts`, `licensing`).
    follower text NOT NULL,
    caught_up_to timestamptz NOT NULL,
    next_due_at timestamptz,
    -- The rental versions its catch-up published (`[{"contract_id", "version"}]`): it counts as caught up only
    -- once `contract_rate` holds each (another replica of the wallet may still be applying one).
    awaits jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (test_clock_id, follower)
);
