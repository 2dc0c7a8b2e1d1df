"""Contract rules, free of I/O: the life cycle and rental state machines arrive with the contracts issue."""

from __future__ import annotations
