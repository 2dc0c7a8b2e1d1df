"""HTTP endpoints of the licence distributor."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["licences"])
