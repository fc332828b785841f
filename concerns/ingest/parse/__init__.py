"""Parsing the data imports (Ofsted management information, GIAS establishments and links).

Pure Python: files in, frozen records out (records.py). Loading them into the database is elsewhere.
"""

from concerns.ingest.parse.gias_csv import read_establishments, read_links
from concerns.ingest.parse.ofsted_csv import read_ofsted
from concerns.ingest.parse.records import (
    InspectionRecord,
    LinkRecord,
    NotRecognised,
    OfstedRow,
    ParseResult,
    RowError,
    SchoolRecord,
)

__all__ = [
    "InspectionRecord",
    "LinkRecord",
    "NotRecognised",
    "OfstedRow",
    "ParseResult",
    "RowError",
    "SchoolRecord",
    "read_establishments",
    "read_links",
    "read_ofsted",
]
