"""Messaging on RabbitMQ: topology, CloudEvents envelopes, the transactional outbox and the inbox consumer."""
