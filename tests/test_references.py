"""Everything the repository cites is public or in the repository: no notes, seed files or contracts
that only the people who wrote the code could read (docs/decisions/ records the design decisions, one file each;
docs/cli-contract.md the command-line contract)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Documents that were never part of the repository: the domain and tech notes, the seed documents and
# anything under ../shared/. "seed 00N" is how the seed documents were cited.
OUTSIDE = re.compile(r"DOMAIN\.md|DOMAIN-RESEARCH|TECH-NOTES|shared/|seeds/|CONTRACT\.md|\bseed 00\d")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_reference_to_documents_outside_the_repository():
    hits = []
    for path in _tracked_files():
        if path == Path(__file__).resolve() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary (screenshots)
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "references to documents outside the repository:\n" + "\n".join(hits)
