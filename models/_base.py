"""Shared column helpers for the tables."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Aware UTC now: sqlmodel stores datetimes as UTC and refuses naive ones (docs/decisions.md, D11)."""
    return datetime.now(UTC)
