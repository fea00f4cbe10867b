"""The clicks exported once from the scratch PostgreSQL and loaded into chDB and DuckDB.

chdb and duckdb are the `bench` extra, not runtime dependencies: they are imported when an engine
is built, so run.py can import this module and say how to install them.
"""

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import psycopg
from anchor_sql import ClickHouse, Dialect, DuckDB

# The columns the 10 answers read; the canonical campaign joined in as the campaign filter and
# breakdown need it. Times as integer microseconds (exact), booleans as 0/1, and PostgreSQL's
# CSV writes NULL as an empty field and '' as "" so both engines can tell them apart.
EXPORT_SQL = """
COPY (SELECT (extract(epoch FROM k.occurred_at) * 1000000)::bigint AS us, k.is_bot::int AS is_bot,
        k.is_unique::int AS is_unique, k.is_qr::int AS is_qr, k.campaign_id, c.canonical_id,
        k.country, k.device, k.referer, k.sender, k.browser, k.os, k.city
      FROM analytics_click k LEFT JOIN analytics_campaign c ON c.id = k.campaign_id
      ORDER BY k.occurred_at) TO STDOUT (FORMAT csv, HEADER)"""
TEXT = ("country", "device", "referer", "sender", "browser", "os", "city")
CSV_TYPES = {"us": "Int64", "is_bot": "UInt8", "is_unique": "UInt8", "is_qr": "UInt8",
             "campaign_id": "Nullable(Int64)", "canonical_id": "Nullable(Int64)"} | {
    c: "String" for c in TEXT}  # fmt: skip
# Loaded rows are checked against PostgreSQL's, so a CSV misreading ('' as NULL) shows first.
CHECKED = (
    "campaign_id IS NULL",
    "country = ''",
    "device = ''",
    "referer = ''",
    "is_bot",
    "is_unique",
    "is_qr",
)


def check_sql(count_if: Callable[[str], str], table: str = "clicks") -> str:
    return f"SELECT count(*), {', '.join(count_if(c) for c in CHECKED)} FROM {table}"


def available() -> bool:
    try:
        import chdb  # noqa: F401
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def export_clicks(conn: psycopg.Connection, path: Path) -> dict[str, object]:
    """Write the clicks as CSV; the figures of the export and the check every engine must match."""
    started = time.perf_counter()
    with path.open("wb") as out, conn.cursor().copy(EXPORT_SQL) as copy:
        for chunk in copy:
            out.write(chunk)
    seconds = time.perf_counter() - started
    check = conn.execute(
        check_sql(lambda c: f"count(*) FILTER (WHERE {c})", "analytics_click")
    ).fetchone()
    return {"seconds": round(seconds, 2), "mb": round(path.stat().st_size / 2**20, 1),
            "check": [int(x) for x in check]}  # fmt: skip


class Engine(ABC):
    """One engine's connection: load the CSV, run a query, return rows of Python values."""

    dialect: Dialect

    @abstractmethod
    def load(self, csv: Path) -> float:
        """Load the exported clicks; the seconds it took."""

    @abstractmethod
    def rows(self, sql: str) -> list[tuple]:
        """The query's rows as Python values."""

    def check(self) -> list[int]:
        return [int(x) for x in self.rows(check_sql(self.dialect.count_if))[0]]

    @abstractmethod
    def close(self) -> None:
        """Release the engine's session or connection."""


class ChdbEngine(Engine):
    """A chDB session under the work dir; the clicks in a MergeTree table ordered by time."""

    dialect = ClickHouse()

    def __init__(self, path: Path) -> None:
        from chdb import session

        self.session = session.Session(str(path))

    def load(self, csv: Path) -> float:
        started = time.perf_counter()
        low = ("country", "device", "sender", "browser", "os")
        columns = ", ".join(
            f"{c} LowCardinality(String)" if c in low else f"{c} {CSV_TYPES[c]}"
            for c in CSV_TYPES if c != "us"
        )  # fmt: skip
        self.rows(
            f"CREATE TABLE clicks (occurred_at DateTime64(6, 'UTC'), {columns})"
            " ENGINE = MergeTree ORDER BY occurred_at"
        )
        schema = ", ".join(f"{c} {t}" for c, t in CSV_TYPES.items())
        names = ", ".join(c for c in CSV_TYPES if c != "us")
        self.rows(
            f"INSERT INTO clicks SELECT fromUnixTimestamp64Micro(us, 'UTC'), {names}"
            f" FROM file('{csv}', 'CSVWithNames', '{schema}')"
        )
        # One part, as a table that has settled after its inserts would be.
        self.rows("OPTIMIZE TABLE clicks FINAL")
        return time.perf_counter() - started

    def rows(self, sql: str) -> list[tuple]:
        result = self.session.query(sql, "JSONCompact")
        text = result.data() if result is not None else ""
        return [tuple(row) for row in json.loads(text)["data"]] if text.strip() else []

    def close(self) -> None:
        self.session.close()


class DuckEngine(Engine):
    """A DuckDB database file under the work dir, rows inserted in time order."""

    dialect = DuckDB()

    def __init__(self, path: Path) -> None:
        import duckdb

        self.conn = duckdb.connect(str(path))

    def load(self, csv: Path) -> float:
        started = time.perf_counter()
        duck = {"Int64": "BIGINT", "UInt8": "INTEGER", "Nullable(Int64)": "BIGINT",
                "String": "VARCHAR"}  # fmt: skip
        columns = ", ".join(f"'{c}': '{duck[t]}'" for c, t in CSV_TYPES.items())
        flags = ", ".join(f"{c}::BOOLEAN AS {c}" for c in ("is_bot", "is_unique", "is_qr"))
        rest = ", ".join(("campaign_id", "canonical_id", *TEXT))
        self.conn.execute(
            f"CREATE TABLE clicks AS SELECT make_timestamptz(us) AS occurred_at, {flags}, {rest}"
            f" FROM read_csv('{csv}', header = true, allow_quoted_nulls = false,"
            f" columns = {{{columns}}}) ORDER BY us"
        )
        self.conn.execute("CHECKPOINT")
        return time.perf_counter() - started

    def rows(self, sql: str) -> list[tuple]:
        return self.conn.execute(sql).fetchall()

    def close(self) -> None:
        self.conn.close()
