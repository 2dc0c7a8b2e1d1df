"""HTTP request and response shapes of the licence distributor."""

from __future__ import annotations
