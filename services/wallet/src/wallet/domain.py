"""Wallet rules, free of I/O. The money arithmetic arrives with the ledger."""

from __future__ import annotations
