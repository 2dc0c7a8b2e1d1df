"""Contracts use cases: one function, one transaction, events into the outbox inside it."""

from __future__ import annotations
