"""Council sign-in over OpenID Connect: sign-ins under way, and the ID token behind a desk session.

The client secret is never stored. A sign-in under way is keyed by the SHA-256 of a random token in the
browser's cookie, so that it can finish only in the browser that started it, and only once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field

from models._base import Table, utcnow


class OidcSignIn(Table, table=True):
    """A sign-in sent to the provider and not yet back: its state, nonce and PKCE verifier (single use)."""

    __tablename__ = "oidc_sign_in"

    browser_hash: str = Field(primary_key=True, max_length=64)
    state: str = Field(max_length=64)
    nonce: str = Field(max_length=64)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(max_length=512)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class OidcSession(Table, table=True):
    """The provider's ID token for a desk session, sent back as `id_token_hint` when the officer signs out."""

    __tablename__ = "oidc_session"

    token_hash: str = Field(primary_key=True, max_length=64, foreign_key="officer_session.token_hash",
                            ondelete="CASCADE")
    id_token: str = Field(sa_column=Column(Text, nullable=False))
