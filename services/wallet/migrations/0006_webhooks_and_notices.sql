-- Outbound integrations of an account: contact addresses and e-mail notices, webhook endpoints and deliveries.
-- Every row is written inside the inbox transaction of the event it reports, so nothing is sent for an event
-- that was not handled, and a redelivered event (its inbox row already there) writes nothing twice.

-- Where an account's e-mail notices go (empty: none are sent).
CREATE TABLE account_contact (
    account_id uuid PRIMARY KEY REFERENCES account (id),
    emails text[] NOT NULL CHECK (cardinality(emails) <= 10),
    updated_at timestamptz NOT NULL
);

-- One e-mail per event and kind (`dedupe_key`), whatever the number of replicas: rendered when the event is
-- handled, claimed by one sender at a time (a lease in `next_attempt_at`), marked sent after the SMTP server
-- accepted it.
CREATE TABLE email_notice (
    id uuid PRIMARY KEY,
    dedupe_key text NOT NULL UNIQUE,
    account_id uuid NOT NULL REFERENCES account (id),
    kind text NOT NULL,
    recipients text[] NOT NULL CHECK (cardinality(recipients) >= 1),
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text,
    created_at timestamptz NOT NULL,
    sent_at timestamptz
);

CREATE INDEX email_notice_due ON email_notice (next_attempt_at) WHERE status = 'pending';
CREATE INDEX email_notice_of_account ON email_notice (account_id, created_at);

-- An endpoint receives the events of its account only. The secret signs every delivery (Standard Webhooks:
-- `whsec_` + base64 of the key); it is shown once, at registration.
CREATE TABLE webhook_endpoint (
    id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES account (id),
    url text NOT NULL CHECK (length(url) <= 2000),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    -- Empty: every event type.
    event_types text[] NOT NULL,
    secret text NOT NULL,
    status text NOT NULL CHECK (status IN ('enabled', 'disabled', 'deleted')),
    disabled_reason text,
    -- The first failed attempt since the last success: the endpoint is disabled when it lasts too long.
    failing_since timestamptz,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    status_changed_at timestamptz NOT NULL
);

CREATE INDEX webhook_endpoint_of_account ON webhook_endpoint (account_id, created_at) WHERE status <> 'deleted';

-- One event as the endpoints receive it; `id` is the `webhook-id` (the same in every attempt and replay).
CREATE TABLE webhook_message (
    id text PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES account (id),
    event_type text NOT NULL,
    body jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);

-- A message to one endpoint: pending until delivered (a 2xx answer) or given up (`failed`); `next_attempt_at`
-- is also the claim of the sender working on it.
CREATE TABLE webhook_delivery (
    id uuid PRIMARY KEY,
    message_id text NOT NULL REFERENCES webhook_message (id),
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoint (id),
    account_id uuid NOT NULL REFERENCES account (id),
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    UNIQUE (message_id, endpoint_id)
);

CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_delivery_of_endpoint ON webhook_delivery (endpoint_id, created_at, id);

-- The delivery log: every attempt with what the receiver answered.
CREATE TABLE webhook_attempt (
    delivery_id uuid NOT NULL REFERENCES webhook_delivery (id),
    attempt integer NOT NULL,
    at timestamptz NOT NULL,
    status_code integer,
    error text,
    duration_ms integer NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
