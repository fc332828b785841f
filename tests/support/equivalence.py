"""Two databases compared by content: every table, every column but surrogate ids and timestamps.

A row is described by its own values, with each foreign key to a surrogate id replaced by the
description of the row it points at (a deadline names its case and the event that created it by their
contents, not by numbers that depend on the order the rows were inserted in). The dump of a database is,
per table, the sorted list of its rows' descriptions: two databases with equal dumps hold the same facts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import JSON, DateTime, MetaData, Table, select

from concerns.store.db import engine_for

# Recorded when the row was written, not what it says: differs between any two runs.
TIMESTAMP_TYPES = (DateTime,)


def _is_surrogate(table: Table, column) -> bool:
    return column.primary_key and column.name == "id"


def _value(column, value):
    if value is not None and isinstance(column.type, JSON):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def natural_dump(url: str) -> dict[str, list[tuple]]:
    metadata = MetaData()
    engine = engine_for(url)
    metadata.reflect(engine)
    with engine.connect() as connection:
        rows = {name: {row._mapping.get("id", index): row._mapping for index, row in
                       enumerate(connection.execute(select(table)))}
                for name, table in metadata.tables.items()}
    described: dict[tuple[str, object], tuple] = {}

    def describe(table: Table, key) -> tuple:
        if (table.name, key) in described:
            return described[(table.name, key)]
        row = rows[table.name][key]
        parts = []
        for column in table.columns:
            if _is_surrogate(table, column) or isinstance(column.type, TIMESTAMP_TYPES):
                continue
            value = row[column.name]
            target = next((fk.column for fk in column.foreign_keys), None)
            if value is not None and target is not None and _is_surrogate(target.table, target):
                value = describe(target.table, value)
            parts.append((column.name, _value(column, value)))
        described[(table.name, key)] = tuple(parts)
        return described[(table.name, key)]

    return {name: sorted((describe(table, key) for key in rows[name]), key=repr)
            for name, table in sorted(metadata.tables.items())}


def differences(first: dict[str, list[tuple]], second: dict[str, list[tuple]], show: int = 3) -> list[str]:
    """A readable account of where two dumps differ (empty when they are equal)."""
    found = []
    for table in sorted(set(first) | set(second)):
        a, b = first.get(table, []), second.get(table, [])
        if a == b:
            continue
        only_a = [r for r in a if r not in b][:show]
        only_b = [r for r in b if r not in a][:show]
        found.append(f"{table}: {len(a)} rows against {len(b)}; only in the first: {only_a}; "
                     f"only in the second: {only_b}")
    return found


@contextmanager
def twin_database(db_url: str, tmp_path) -> Iterator[str]:
    """A second fresh, migrated database on the same engine as `db_url`."""
    from concerns.store.db import upgrade
    from tests.support.databases import drop_postgres_database, fresh_postgres_database

    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'twin.db'}"
        upgrade(url)
        yield url
        return
    url, name = fresh_postgres_database()
    try:
        yield url
    finally:
        engine_for(url).dispose()
        drop_postgres_database(name)
