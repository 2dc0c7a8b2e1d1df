-- Transactional outbox and inbox, created in every service's own schema.

CREATE TABLE outbox_message (
    id uuid PRIMARY KEY,
    routing_key text NOT NULL,
    event_type text NOT NULL,
    subject text,
    payload jsonb NOT NULL,
    traceparent text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at timestamptz,
    publish_attempts integer NOT NULL DEFAULT 0,
    last_error text
);

CREATE INDEX outbox_message_unsent ON outbox_message (created_at) WHERE sent_at IS NULL;

-- Wake the relay at commit; it also polls, so a lost notification only delays.
CREATE FUNCTION outbox_message_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_message_inserted AFTER INSERT ON outbox_message
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_message_notify();

CREATE TABLE inbox_message (
    consumer text NOT NULL,
    message_id text NOT NULL,
    event_type text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, message_id)
);
