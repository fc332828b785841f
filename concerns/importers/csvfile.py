"""Reading the CSV files DfE and Ofsted publish, the way they really come.

What the real files do, and so what this module tolerates:
- encoding: Ofsted's 2017 file is UTF-8, GIAS and the current Ofsted files are Windows-1252, and a file
  saved from Excel may carry a BOM. We try UTF-8 (BOM or not) and fall back to cp1252.
- headers: columns are renamed and respaced between releases ("Latest OEIF  safeguarding is
  effective?" has two spaces in some releases), so headers are compared in a normal form, against alias
  tables the parsers keep as data.
- missing values: "NULL" is written as a literal; "", "NA" and "N/A" mean the same.
- dates: dd/mm/yyyy (Ofsted), dd-mm-yyyy (GIAS) and yyyy-mm-dd.
- a title line above the header (some Ofsted releases): the header is looked for in the first lines.
- line numbers: each row reports the physical line it starts on (header = line 1), counted correctly
  when a quoted field holds a newline, so an officer can find the row in a text editor.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from itertools import compress, product
from operator import call, itemgetter, not_
from pathlib import Path
from typing import TypeVar

from concerns.importers.records import NotRecognised, ParseResult, RowError

T = TypeVar("T")

MISSING_VALUES = ("", "NULL", "NA", "N/A")
# Every upper/lower-case spelling of those, so that one set lookup per cell tests case-insensitively.
MISSING_SPELLINGS = frozenset(
    "".join(letters) for value in MISSING_VALUES for letters in product(*({c.lower(), c.upper()} for c in value))
)

# How many non-blank lines may stand above the header (a title, a "data as at" note).
MAX_PREAMBLE_LINES = 5


def normalise_header(name: str) -> str:
    """A header's comparable form: "TypeOfEstablishment (name)" -> "type_of_establishment_name".

    CamelCase is split so that GIAS's "LinkURN" and a respaced "Link URN" meet; case, spacing and
    punctuation are dropped.
    """
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[^0-9a-z]+", "_", split.lower()).strip("_")


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with: UTF-8 (with or without BOM), else cp1252."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    # A BOM in front of cp1252 bytes: a UTF-8 file edited and saved back by a Windows tool.
    data = data.removeprefix(b"\xef\xbb\xbf")
    # cp1252 leaves five byte values undefined; a file using one is still more use read than refused.
    return data.decode("cp1252", errors="replace"), "cp1252"


_DATE_PATTERNS = (
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), (3, 2, 1)),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), (3, 2, 1)),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), (1, 2, 3)),
)


def parse_date(text: str) -> date:
    """dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd; ValueError naming the value for anything else."""
    for pattern, (y, m, d) in _DATE_PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            try:
                return date(int(found[y]), int(found[m]), int(found[d]))
            except ValueError:
                break  # the right shape but no such day, e.g. 31/02/2017
    raise ValueError(f"{text!r} is not a date (dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd)")


def read_text(path: Path, kind: str) -> tuple[str, str]:
    data = path.read_bytes()
    if not data or data.isspace():
        raise NotRecognised(f"{path.name} is not {kind}: the file is empty")
    if b"\x00" in data:
        # Spreadsheets, zips and UTF-16 exports all carry NUL bytes; no CSV we import does.
        raise NotRecognised(f"{path.name} is not {kind}: it is a binary file (or UTF-16), not a CSV")
    return decode(data)


class Invalid:
    """A value a parser refused, with the reason.

    Readers return it rather than raise, so that a row's cells are read in one pass of C-level map()
    calls (see CsvTable._values_reader), and so that a refusal can be cached like any other value.
    """

    __slots__ = ("text", "reason")

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def field_reader(parser: Callable[[str], T], *, cached: bool = True) -> Callable[[str], T | Invalid]:
    """`parser`, with a ValueError turned into an Invalid value; cached for columns with few distinct
    values (grades, dates, types), where a national file repeats the same text thousands of times."""

    def read(text: str) -> T | Invalid:
        try:
            return parser(text)
        except ValueError as exc:
            return Invalid(text, str(exc))

    return lru_cache(maxsize=4096)(read) if cached else read


# Dates repeat across a file (and across files), so one cached reader serves every date column.
read_date = field_reader(parse_date)


class Row:
    """One data row: the physical line it starts on, its values by field, and what is wrong with it."""

    __slots__ = ("line", "values", "problems", "key")

    def __init__(self, line: int, values: dict[str, object], problems: list[str], key: str | None) -> None:
        self.line = line
        self.values = values  # field -> parsed value; missing and refused values are left out
        self.problems = problems  # "Column: what is wrong", one per bad value
        self.key = key  # the row's URN as written, even if it is not a valid one, for error reports


class CsvTable:
    """A decoded CSV file whose header matched one of the layouts asked for."""

    def __init__(
        self, path: Path, text: str, encoding: str, layout: str, header: list[str],
        header_line: int, columns: dict[str, int],
    ) -> None:
        self.path = path
        self.text = text
        self.encoding = encoding
        self.layout = layout
        self.header = header
        self.header_line = header_line
        self.columns = columns
        # Rows may drop trailing empty cells; only a row too short to hold a column we read is wrong.
        self.width_needed = max(columns.values()) + 1

    def column_name(self, field: str) -> str:
        """The header as the file spells it, for messages an officer can match to the file."""
        index = self.columns.get(field)
        return self.header[index].strip() if index is not None else field

    def rows(
        self, readers: Mapping[str, Callable[[str], object]], required: Collection[str] = (),
        key: str = "urn",
    ) -> Iterator[Row]:
        """Data rows after the header, read by `readers` (field -> reader; text by default).

        Each row carries the physical line it starts on; blank rows are skipped. A required field
        that is missing, a value a reader refused, or a row too short is a problem of that row.
        """
        read_values = self._values_reader(readers)
        required = [field for field in required if field in self.columns]
        reader = csv.reader(io.StringIO(self.text, newline=""))
        while reader.line_num < self.header_line:
            next(reader)
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # An unbalanced quote swallows the rest of the file; there is no safe place to resume.
                yield Row(line, {}, [f"CSV syntax error from here on ({exc}); the rest of the file was not read"], None)
                return
            if not "".join(cells).strip():
                continue
            if len(cells) < self.width_needed:
                problem = f"the row has {len(cells)} fields but the header has {len(self.header)}"
                yield Row(line, {}, [problem], self._cell(cells, key))
                continue
            yield self._checked(line, read_values(cells), required, key)

    def _cell(self, cells: list[str], field: str) -> str | None:
        index = self.columns.get(field)
        return cells[index].strip() or None if index is not None and index < len(cells) else None

    def _values_reader(self, readers: Mapping[str, Callable[[str], object]]) -> Callable[[list[str]], dict]:
        """A function from a row's cells to {field: value}, leaving out missing values.

        Written with map/compress/zip so that the loop over cells runs in C: with ~90 columns and
        22,000 rows this is where a national file spends its time, and a Python loop doubled it.
        """
        fields = tuple(self.columns)
        field_readers = tuple(readers.get(field, str) for field in fields)  # str(text) is text itself
        pick = itemgetter(*self.columns.values())
        if len(fields) == 1:
            pick = _single(pick)
        is_missing = MISSING_SPELLINGS.__contains__

        def read_values(cells: list[str]) -> dict[str, object]:
            texts = tuple(map(str.strip, pick(cells)))
            present = tuple(map(not_, map(is_missing, texts)))
            return dict(zip(
                compress(fields, present),
                map(call, compress(field_readers, present), compress(texts, present)),
                strict=True,
            ))

        return read_values

    def _checked(self, line: int, values: dict[str, object], required: list[str], key: str) -> Row:
        refused_any = Invalid in map(type, values.values())
        absent = [field for field in required if field not in values]
        key_value = values.get(key)
        if not refused_any and not absent:
            return Row(line, values, [], key_value)
        refused = [field for field, value in values.items() if value.__class__ is Invalid]
        key_text = key_value.text if isinstance(key_value, Invalid) else key_value
        problems = [f"{self.column_name(field)}: missing" for field in absent]
        problems += [f"{self.column_name(field)}: {values.pop(field).reason}" for field in refused]
        return Row(line, values, problems, key_text)


def _single(pick: Callable[[list[str]], str]) -> Callable[[list[str]], tuple[str]]:
    # itemgetter with one index returns the item, not a 1-tuple
    return lambda cells: (pick(cells),)


def match_columns(header: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """field -> column index, taking for each field the first alias the header has.

    Should two headers share a normal form, the leftmost is used.
    """
    position = {}
    for index, name in enumerate(header):
        position.setdefault(normalise_header(name), index)
    columns = {}
    for field, spellings in aliases.items():
        for spelling in spellings:
            index = position.get(normalise_header(spelling))
            if index is not None:
                columns[field] = index
                break
    return columns


def open_table(
    path: str | Path,
    kind: str,
    aliases: Mapping[str, Sequence[str]],
    layouts: Mapping[str, Collection[str]],
) -> CsvTable:
    """Decode the file and find its header; the first layout whose required fields are all present wins.

    Raises NotRecognised, naming the missing columns of the nearest layout, when none matches.
    """
    path = Path(path)
    text, encoding = read_text(path, kind)
    reader = csv.reader(io.StringIO(text, newline=""))
    nearest: tuple[int, str, list[str]] | None = None
    looked_at = 0
    try:
        for header in reader:
            if not any(cell.strip() for cell in header):
                continue
            columns = match_columns(header, aliases)
            for layout, required in layouts.items():
                absent = [field for field in required if field not in columns]
                if not absent:
                    return CsvTable(path, text, encoding, layout, header, reader.line_num, columns)
                if nearest is None or len(absent) < nearest[0]:
                    nearest = (len(absent), layout, absent)
            looked_at += 1
            if looked_at > MAX_PREAMBLE_LINES:
                break
    except csv.Error as exc:
        raise NotRecognised(f"{path.name} is not {kind}: it cannot be read as CSV ({exc})") from None
    if nearest is None:
        raise NotRecognised(f"{path.name} is not {kind}: it has no header row")
    _, layout, absent = nearest
    names = ", ".join(repr(aliases[field][0]) for field in absent)
    raise NotRecognised(f"{path.name} is not {kind}: missing required columns {names} (nearest layout: {layout})")


def collect(
    table: CsvTable,
    readers: Mapping[str, Callable[[str], object]],
    required: Collection[str],
    build: Callable[[Row], object],
) -> ParseResult:
    """Read every row and build a record from each good one; each problem of a bad row is a RowError.

    `build` only ever sees rows whose values all read cleanly, so it is plain construction.
    """
    rows, errors, read = [], [], 0
    with _collector_paused():
        for row in table.rows(readers, required):
            read += 1
            if row.problems:
                errors.extend(RowError(row.line, row.key, reason) for reason in row.problems)
            else:
                rows.append(build(row))
    return ParseResult(table.layout, rows, errors, read)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a file is read.

    Every row allocates a few dicts and records, none in a reference cycle, and the collector kept
    rescanning the growing list of results: measured on a 22,000-row Ofsted file, building the
    records took 0.6 s with it running and 0.25 s without. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
