"""Which policy file each authority in the database runs under."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from models._base import Table, utcnow


class AuthorityPolicy(Table, table=True):
    __tablename__ = "authority_policy"

    la: str = Field(primary_key=True)
    policy_key: str
    policy_title: str
    policy_source: str
    recorded_at: datetime = Field(default_factory=utcnow)
