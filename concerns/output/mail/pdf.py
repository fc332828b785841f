"""HTML to PDF with WeasyPrint, for letters and reports people print and file.

Letters travel as PDF (mail gateways filter `.html` attachments; a PDF prints the same everywhere), with
the HTML kept beside it. The letter's HTML is untouched: the print-only rules (A4, margins, page
numbers, the signature block kept together) are in `templates/letters/print.css`, given to WeasyPrint
as a user stylesheet after the document's own.

Nothing is fetched while rendering: a letter is self-contained (inline CSS), and text that came from
people (a school's name, a note) must never make the renderer reach a file or the network. Only `data:`
URLs are allowed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from concerns.domain.resources import LETTER_PRINT_CSS


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango) are missing."""


def _no_fetching():
    """WeasyPrint's fetcher allowing `data:` URLs only: anything else is refused (and left out, with a
    warning in WeasyPrint's log), never read."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


@lru_cache(maxsize=4)
def _stylesheet(path: Path):
    from weasyprint import CSS

    return CSS(string=path.read_text(encoding="utf-8"), url_fetcher=_no_fetching())


def html_to_pdf(html: str | bytes, stylesheet: Path | None = LETTER_PRINT_CSS, *, title: str | None = None) -> bytes:
    """The PDF of `html`, printed with `stylesheet` (the letters' print rules by default).

    Deterministic for the same input (WeasyPrint writes no creation date unless asked), so a letter
    rendered twice gives the same bytes.
    """
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango or its fonts not installed
        raise PdfUnavailable(f"cannot make PDFs: {exc}") from exc
    if isinstance(html, bytes):
        html = html.decode("utf-8")
    document = HTML(string=html, url_fetcher=_no_fetching(), base_url=None)
    stylesheets = [_stylesheet(stylesheet)] if stylesheet is not None else []
    metadata = {"title": title} if title else {}
    rendered = document.render(stylesheets=stylesheets)
    for key, value in metadata.items():
        setattr(rendered.metadata, key, value)
    return rendered.write_pdf()
