"""The README stays a five-minute read with a map of docs/, and the documents' links lead somewhere.

Links are checked as GitHub resolves them: relative to the file they are in, the part after `#`
ignored. Code comments are not read here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DECISIONS = DOCS / "decisions"
# [text](target) and ![alt](target); a target with a scheme (https:, mailto:) is not a file.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _relative_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # code blocks hold no links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def _missing(path: Path) -> list[str]:
    return [t for t in _relative_links(path) if not (path.parent / t.split("#", 1)[0]).exists()]


def test_readme_stays_under_220_lines():
    lines = README.read_text().splitlines()
    assert len(lines) < 220, f"README.md has {len(lines)} lines: move the detail to a file under docs/"


def test_every_docs_file_the_readme_links_exists():
    docs_links = [t for t in _relative_links(README) if t.startswith("docs/")]
    assert len(docs_links) >= 10, f"README.md links only {docs_links} under docs/"
    assert not _missing(README), f"README.md links files that do not exist: {_missing(README)}"


def test_the_readme_maps_every_document_under_docs():
    linked = {(ROOT / t.split("#", 1)[0]).resolve() for t in _relative_links(README)}
    documents = [p for p in DOCS.glob("*.md")] + [DECISIONS / "README.md"]
    unmapped = sorted(str(p.relative_to(ROOT)) for p in documents if p.resolve() not in linked)
    assert not unmapped, f"README.md's map of docs/ leaves out {unmapped}"


def test_links_between_the_documents_lead_to_files_that_exist():
    documents = sorted(DOCS.rglob("*.md")) + [ROOT / "bench" / "README.md"]
    broken = {str(p.relative_to(ROOT)): _missing(p) for p in documents if _missing(p)}
    assert not broken, f"links to files that do not exist: {broken}"


def test_each_decision_has_its_number_a_date_and_a_status_and_is_in_the_index():
    files = sorted(DECISIONS.glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert len(files) >= 22
    numbers = sorted(int(f.name[:4]) for f in files)
    assert numbers == list(range(1, len(files) + 1)), f"decision numbers with gaps or repeats: {numbers}"
    index = (DECISIONS / "README.md").read_text()
    for f in files:
        head = f.read_text().splitlines()[:4]
        assert re.fullmatch(rf"# D{int(f.name[:4])}\. \S.*", head[0]), f"{f.name}: first line {head[0]!r}"
        assert re.fullmatch(r"Date: \d{4}-\d\d-\d\d", head[2]), f"{f.name}: {head[2]!r} is not a Date: line"
        assert re.fullmatch(r"Status: (accepted|amended|superseded by \d{4})\b.*", head[3]), (
            f"{f.name}: {head[3]!r} is not a Status: line")
        superseded = re.match(r"Status: superseded by (\d{4})", head[3])
        if superseded:
            assert list(DECISIONS.glob(f"{superseded.group(1)}-*.md")), f"{f.name}: superseded by a missing file"
        assert f"]({f.name})" in index, f"docs/decisions/README.md does not list {f.name}"
