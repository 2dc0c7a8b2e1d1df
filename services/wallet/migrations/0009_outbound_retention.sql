-- Retention of the outbound rows (issue 20): the wallet's retention job deletes finished webhook deliveries (with
-- their attempts), the messages no delivery refers to any more, and sent or given-up e-mail notices, once older than
-- their retention (WALLET_WEBHOOK_RETENTION_DAYS, WALLET_NOTICE_RETENTION_DAYS). These indexes let it find them
-- without reading the tables whole.
CREATE INDEX webhook_delivery_created ON webhook_delivery (created_at);
CREATE INDEX webhook_message_created ON webhook_message (created_at);
CREATE INDEX email_notice_finished_created ON email_notice (created_at) WHERE status <> 'pending';
