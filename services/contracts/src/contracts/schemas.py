"""HTTP request and response shapes of contracts."""

from __future__ import annotations
