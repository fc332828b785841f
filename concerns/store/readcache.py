"""Pages computed from the database, kept while the database is unchanged.

The desk's busiest pages (an officer's week, the register's order and its officers) read thousands of rows
on a large authority, and twenty officers ask for them again and again while nothing has changed. Each is
kept under the database's version (`concerns.store.db.data_version`): any commit anywhere, by this process
or another (an import, another officer, a flow), changes the version, and the next request computes afresh.
A unit of work that may write has no version, and so always computes. What is kept is shared between
requests: callers treat it as read-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlmodel import Session

from concerns.store.db import data_version

T = TypeVar("T")


class ReadCache:
    """At most `size` values, the least recently used dropped first; a value kept under an older version is
    never returned (it ages out)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._values: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()  # the desk answers requests on a pool of threads
        self.hits = self.misses = 0

    def get(self, session: Session, key: Hashable, compute: Callable[[], T], pin: object = None) -> T:
        """The value kept under `key` at the database's present version, else `compute()` kept. `pin` is
        kept alive beside the value, for a key that names an object by its id() (which is then never
        reused while the value is kept)."""
        version = data_version(session)
        if version is None:
            return compute()
        full = (version, key)
        with self._lock:
            if full in self._values:
                self._values.move_to_end(full)
                self.hits += 1
                return self._values[full][1]  # type: ignore[index]
            self.misses += 1
        value = compute()  # outside the lock: two requests may both compute, and the second one keeps it
        with self._lock:
            self._values[full] = (pin, value)
            self._values.move_to_end(full)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
