"""The link index of one CBOM document, on disk: what a slice needs to know of the rest.

A slice of a big document keeps its own components whole; every bom-ref of the document,
every ``dependencies`` entry and, for the crypto components outside the slice, the few fields
a link to them reads go here instead. It is a SQLite database: its pages stay in a cache of
``CACHE_KIB`` and spill to disk beyond it. So a slice's memory does not grow with the document:
a 250,000-component document costs disk, not RAM. Only the standard library's ``sqlite3``;
nothing of QRAP's database.

``cbom_reader.prepare`` builds one for a whole document, once per run, in a file (``path``)
that the run's chunks each open read-only (``LinkIndex.open``), with the document's own facts
(``meta``: counts, document-level warnings) that every slice reports alike.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, MutableMapping
from typing import Any

# SQLite's page cache for the index (the rest stays in its file).
CACHE_KIB = 2048
# Rows for ``linked`` and ``outgoing`` (read only once the pass is over) are written in
# batches of this many: one executemany instead of a statement per component.
BATCH = 2000

_SCHEMA = """
CREATE TABLE refs (ref TEXT PRIMARY KEY, pointer TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE linked (ref TEXT PRIMARY KEY, name TEXT NOT NULL, crypto TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE outgoing (target TEXT NOT NULL);
CREATE TABLE entries (ref TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE edges (
    ref TEXT NOT NULL, key TEXT NOT NULL, number INTEGER NOT NULL, target TEXT NOT NULL
);
CREATE INDEX edges_ref ON edges (ref, key, number);
CREATE INDEX edges_target ON edges (target, key);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


class LinkIndex(MutableMapping[str, str]):
    """bom-ref -> JSON pointer of the component (or section) that declares it, plus the
    ``dependencies`` entries and the linked fields of components outside the slice."""

    def __init__(self, path: str) -> None:
        """A new, empty index in the file ``path`` (which must not exist yet)."""
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")
        self._linked: list[tuple[str, str, str]] = []
        self._outgoing: list[tuple[str]] = []

    @classmethod
    def open(cls, path: str) -> LinkIndex:
        """An index ``prepare`` wrote, read-only: any number of chunks may read one file."""
        index = cls.__new__(cls)
        index._db = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        index._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        index._linked, index._outgoing = [], []
        return index

    def close(self) -> None:
        self._db.close()

    def save(self, meta: dict[str, Any]) -> None:
        """Record the document's own facts and write everything to the index's file."""
        self._flush()
        self._db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in meta.items()],
        )
        self._db.execute("COMMIT")

    def meta(self) -> dict[str, Any]:
        return {str(k): json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    # -- bom-refs (the reader uses this like its dict of them) -------------------------------

    def __getitem__(self, ref: str) -> str:
        row = self._db.execute("SELECT pointer FROM refs WHERE ref = ?", (ref,)).fetchone()
        if row is None:
            raise KeyError(ref)
        return str(row[0])

    def __setitem__(self, ref: str, pointer: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO refs VALUES (?, ?)", (ref, pointer))

    def __delitem__(self, ref: str) -> None:
        self._db.execute("DELETE FROM refs WHERE ref = ?", (ref,))

    def __contains__(self, ref: object) -> bool:
        found = self._db.execute("SELECT 1 FROM refs WHERE ref = ?", (ref,)).fetchone()
        return found is not None

    def __iter__(self) -> Iterator[str]:
        return (str(row[0]) for row in self._db.execute("SELECT ref FROM refs"))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM refs").fetchone()[0])

    # -- what the pass adds ---------------------------------------------------------------

    def add_linked(self, ref: str, name: str, crypto: dict[str, Any]) -> None:
        """A crypto component outside the slice: what a link to it reads."""
        self._linked.append((ref, name, json.dumps(crypto)))
        if len(self._linked) >= BATCH:
            self._flush()

    def add_outgoing(self, targets: list[str]) -> None:
        """References a component outside the slice makes (for the warning count)."""
        self._outgoing.extend((t,) for t in targets)
        if len(self._outgoing) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        """Write the batched rows; every read of ``linked`` or ``outgoing`` comes after."""
        if self._linked:
            self._db.executemany("INSERT OR REPLACE INTO linked VALUES (?, ?, ?)", self._linked)
            self._linked = []
        if self._outgoing:
            self._db.executemany("INSERT INTO outgoing VALUES (?)", self._outgoing)
            self._outgoing = []

    def add_dependency(self, ref: str, entry: dict[str, list[str]]) -> bool:
        """A ``dependencies`` entry; an entry for a ref seen before replaces its targets but
        keeps its place (as a dict would). True when the ref is new."""
        position = self._db.execute("SELECT count(*) FROM entries").fetchone()[0]
        added = self._db.execute(
            "INSERT OR IGNORE INTO entries VALUES (?, ?)", (ref, position)
        ).rowcount
        self._db.execute("DELETE FROM edges WHERE ref = ?", (ref,))
        # A key with no targets is kept as one row numbered -1, so the entry reads back whole.
        self._db.executemany(
            "INSERT INTO edges VALUES (?, ?, ?, ?)",
            [
                (ref, key, n, t)
                for key, values in entry.items()
                for n, t in (enumerate(values) if values else [(-1, "")])
            ],
        )
        return bool(added == 1)

    # -- what the links read --------------------------------------------------------------

    def component(self, ref: str) -> tuple[str, dict[str, Any]] | None:
        """(name, linked fields) of a crypto component outside the slice."""
        self._flush()
        row = self._db.execute("SELECT name, crypto FROM linked WHERE ref = ?", (ref,)).fetchone()
        return (str(row[0]), json.loads(row[1])) if row else None

    def is_linked(self, ref: str) -> bool:
        self._flush()
        return self._db.execute("SELECT 1 FROM linked WHERE ref = ?", (ref,)).fetchone() is not None

    def entry(self, ref: str) -> dict[str, list[str]] | None:
        """The ``dependencies`` entry of ``ref``, as the document gives it."""
        rows = self._db.execute(
            "SELECT key, number, target FROM edges WHERE ref = ? ORDER BY rowid", (ref,)
        ).fetchall()
        if not rows:
            return None
        entry: dict[str, list[str]] = {}
        for key, number, target in rows:
            values = entry.setdefault(str(key), [])
            if number >= 0:
                values.append(str(target))
        return entry

    def depends_on(self, ref: str) -> list[str]:
        rows = self._db.execute(
            "SELECT target FROM edges WHERE ref = ? AND key = 'dependsOn' AND number >= 0"
            " ORDER BY number",
            (ref,),
        )
        return [str(row[0]) for row in rows]

    def depended_by(self, ref: str) -> list[str]:
        """The refs whose ``dependsOn`` names ``ref``, in the document's order."""
        rows = self._db.execute(
            "SELECT e.ref FROM edges d JOIN entries e ON e.ref = d.ref"
            " WHERE d.target = ? AND d.key = 'dependsOn' AND d.number >= 0"
            " ORDER BY e.position, d.number",
            (ref,),
        )
        return [str(row[0]) for row in rows]

    def dangling_of(self, ref: str) -> list[tuple[int, str, int, str]]:
        """(position, key, number, target) of each target of ``ref``'s ``dependencies`` entry
        that names no bom-ref, in the document's order."""
        rows = self._db.execute(
            "SELECT e.position, d.key, d.number, d.target FROM entries e"
            " JOIN edges d ON d.ref = e.ref AND d.number >= 0"
            " WHERE e.ref = ? AND NOT EXISTS (SELECT 1 FROM refs r WHERE r.ref = d.target)"
            " ORDER BY d.rowid",
            (ref,),
        )
        return [(int(p), str(k), int(n), str(t)) for p, k, n, t in rows]

    def dependency_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def dangling_outgoing(self) -> int:
        """How many references made outside the slice name no bom-ref."""
        self._flush()
        row = self._db.execute(
            "SELECT count(*) FROM outgoing o WHERE NOT EXISTS"
            " (SELECT 1 FROM refs r WHERE r.ref = o.target)"
        ).fetchone()
        return int(row[0])

    def dangling_dependencies(self) -> Iterator[tuple[int, str, str | None, int, str]]:
        """(position, ref, key, number, target) of the entries whose ref names nothing (key
        None) and of each target that names nothing, in the document's order."""
        rows = self._db.execute(
            "SELECT e.position, e.ref, NOT EXISTS (SELECT 1 FROM refs r WHERE r.ref = e.ref),"
            " d.key, d.number, d.target,"
            " NOT EXISTS (SELECT 1 FROM refs r WHERE r.ref = d.target)"
            " FROM entries e LEFT JOIN edges d ON d.ref = e.ref AND d.number >= 0"
            " ORDER BY e.position, d.rowid"
        )
        last = -1
        for position, ref, ref_dangles, key, number, target, dangles in rows:
            if position != last:
                last = position
                if ref_dangles and not str(ref).startswith("#invalid-"):
                    yield int(position), str(ref), None, 0, str(ref)
            if key is not None and dangles and not str(ref).startswith("#invalid-"):
                yield int(position), str(ref), str(key), int(number), str(target)
