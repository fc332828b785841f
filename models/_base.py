"""Shared column helpers for the tables."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ConfigDict
from sqlmodel import SQLModel


def utcnow() -> datetime:
    """Aware UTC now: sqlmodel stores datetimes as UTC and refuses naive ones (docs/decisions/0011-aware-datetimes.md)."""
    return datetime.now(UTC)


class Table(SQLModel):
    """What every table is made from: SQLModel with Pydantic's validators built on first use, not when the
    class is made. A table model is never validated (SQLModel constructs its rows as they are given), so
    they were built for nothing, on every command: some 40 ms of the 0.6 s a read command takes."""

    model_config = ConfigDict(defer_build=True)
