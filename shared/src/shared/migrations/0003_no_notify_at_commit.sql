-- The outbox no longer notifies from inside the business transaction. A transaction that queued a NOTIFY
-- takes PostgreSQL's instance-wide notification lock at commit and holds it through the WAL flush, so
-- every commit that wrote an outbox row, in every service, waited for all the others. The writer wakes
-- its own relay in-process after the commit; other replicas poll (shared.messaging.outbox).

DROP TRIGGER outbox_message_inserted ON outbox_message;
DROP FUNCTION outbox_message_notify();
