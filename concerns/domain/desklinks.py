"""Links into the desk for mails: pure (no web imports, a domain module), so the mail templates can use it.

With CONCERNS_WEB_URL set (the address officers reach the desk at, e.g. https://concerns.example.gov.uk),
`school_link("990301")` is that school's page on the desk; without it, None (mails then carry no link).
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

_URN = re.compile(r"^\d{6,7}$")


def desk_url() -> str | None:
    url = (os.environ.get("CONCERNS_WEB_URL") or "").strip()
    if not url.startswith(("https://", "http://")):
        return None
    return url.rstrip("/")


def school_link(urn: str) -> str | None:
    """The desk's page for a school, or None when the desk's address is not configured."""
    base = desk_url()
    urn = str(urn).strip()
    if base is None or not _URN.match(urn):
        return None
    return f"{base}/schools/{quote(urn)}"
