"""Provisioning rules, free of I/O (hardware ids, codes) arrive with device enrolment."""

from __future__ import annotations
