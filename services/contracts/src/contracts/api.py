"""HTTP endpoints of contracts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["contracts"])
