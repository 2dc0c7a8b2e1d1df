"""Bundle rules, free of I/O: claims and expiry arrive with the distributor issue."""

from __future__ import annotations
