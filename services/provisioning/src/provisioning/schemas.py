"""HTTP request and response shapes of provisioning."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: UUID
    name: str = Field(min_length=1, max_length=200)


class DomainRead(BaseModel):
    id: UUID
    account_id: UUID
    name: str
