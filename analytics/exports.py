"""Click rows and reports as CSV, the same columns and cell text everywhere (CLI, web, API).

Cells that a spreadsheet would run as a formula are neutralized (OWASP "CSV injection"): text
starting with = + - @ tab or carriage return gets a leading apostrophe, while plain numbers such as
a negative longitude stay numbers.

The web export of clicks lets PostgreSQL write the CSV (``COPY ... TO STDOUT``), which is several
times faster than formatting rows in Python; ``_copy_cell_sql`` renders every cell exactly as
``format_cell`` does, so the command line (Python path) and the web (SQL path) agree byte for byte
apart from line endings.
"""

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, QuerySet
from psycopg import generators, pq

from analytics import stats
from analytics.filters import DIMENSIONS, ClickFilter
from analytics.models import Click

# Each CSV column and the ORM path it is read from, in file order.
_COLUMN_SOURCES = [
    ("id", "id"),
    ("occurred_at", "occurred_at"),
    ("sender", "sender"),
    ("external_id", "external_id"),
    # The campaign as the dashboard counts it (the `campaign` filter's id), then the sender's.
    ("canonical_campaign_id", "campaign__canonical_id"),
    ("canonical_campaign", "campaign__canonical__name"),
    ("campaign", "campaign__name"),
    ("campaign_external_id", "campaign__external_id"),
    ("url", "url"),
    ("country", "country"),
    ("region", "region"),
    ("city", "city"),
    ("continent", "continent"),
    ("latitude", "latitude"),
    ("longitude", "longitude"),
    ("device", "device"),
    ("browser", "browser"),
    ("os", "os"),
    ("referer", "referer"),
    ("referer_url", "referer_url"),
    ("is_qr", "is_qr"),
    ("is_bot", "is_bot"),
    ("bot_reason", "bot_reason"),
    ("is_unique", "is_unique"),
    ("recipient_email", "recipient__email"),
    ("sharer_email", "sharer__email"),
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utm_campaign", "utm_campaign"),
]
CLICK_COLUMNS = [column for column, _ in _COLUMN_SOURCES]
_SOURCES = [source for _, source in _COLUMN_SOURCES]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ASCII digits only, as in the SQL twin below: Python's \d would also accept "-٣", which no
# spreadsheet reads as a number either.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
# Always six fractional digits, unlike isoformat(), so every row has the same shape and
# PostgreSQL's to_char(..., 'US') can produce the same text.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def neutralize(cell: str) -> str:
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def format_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    if isinstance(value, float):
        return neutralize(float_text(value))
    return neutralize(str(value))


def float_text(value: float) -> str:
    """``value`` as PostgreSQL's float8 output writes it: shortest round-trip digits, "4" not
    "4.0", exponent from 1e+15 and below 1e-04."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    # repr() gives the same shortest round-trip digits as PostgreSQL (extra_float_digits = 1).
    number = Decimal(repr(value)).normalize()
    exponent = number.adjusted()
    if -4 <= exponent < 15:
        return format(number, "f")
    sign, digits, _ = number.as_tuple()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def click_rows(clicks: QuerySet[Click], chunk_size: int = 5000) -> Iterator[list[str]]:
    """Rows for ``clicks`` in time order, read through a server-side cursor (constant memory)."""
    values = clicks.order_by("occurred_at", "id").values_list(*_SOURCES)
    for row in values.iterator(chunk_size=chunk_size):
        yield [format_cell(value) for value in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(
    header: list[str], rows: Iterable[list[str]], lineterminator: str = "\r\n"
) -> Iterator[str]:
    """CSV text line by line, for streaming responses."""
    writer = csv.writer(_Echo(), lineterminator=lineterminator)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


# --- Web downloads ----------------------------------------------------------------------------

# Without a byte order mark Excel reads UTF-8 as the local code page ("Bogotá" becomes "BogotÃ¡").
BOM = "\ufeff"
# COPY ends CSV lines with \n, so the clicks header does too. Python-written CSVs keep \r\n: with
# "\n" as its line end, Python 3.11's csv would leave a bare \r in a cell unquoted.
COPY_LINE_END = "\n"
# COPY hands over one row at a time; one response write per row would cost more than the row.
STREAM_CHUNK_BYTES = 256 * 1024

SUMMARY_COLUMNS = ["metric", "current", "previous", "change"]
TIMESERIES_COLUMNS = ["bucket_start", "clicks", "unique", "previous_clicks"]
BREAKDOWN_COLUMNS = ["value", "label", "clicks", "unique", "share"]
# The CSVs of a report ZIP, and the values report.csv accepts as ``dimension``.
REPORTS = ["summary", "timeseries", *DIMENSIONS]

_BOOLEAN_COLUMNS = frozenset({"is_qr", "is_bot", "is_unique"})
_TIMESTAMP_COLUMNS = frozenset({"occurred_at"})
_INTEGER_COLUMNS = frozenset({"id", "canonical_campaign_id"})
_FLOAT_COLUMNS = frozenset({"latitude", "longitude"})
# The SQL twins of _FORMULA_START and _NUMBER. A cell is tested on the code of its first character
# (ascii() is 0 for ''): a regex per cell made up most of a big export's time, so the number regex
# runs only on the rare cells that start like a formula. The codes are all below 65 ("A"), which
# turns most cells away after one comparison.
_SQL_FORMULA_CODES = ", ".join(str(ord(char)) for char in sorted(_FORMULA_START))
_SQL_FORMULA_BELOW = max(ord(char) for char in _FORMULA_START) + 1
_SQL_NUMBER = r"'^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$'"


def _copy_cell_sql(column: str, ref: str) -> str:
    """SQL that renders ``ref`` as format_cell renders a value of ``column``."""
    if column in _BOOLEAN_COLUMNS:
        # The cast to text says true/false (the output function alone would write t/f).
        return f"{ref}::text"
    if column in _TIMESTAMP_COLUMNS:
        # Faster than any splicing of the default output measured, which drops trailing zeros.
        return f"""to_char({ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if column in _INTEGER_COLUMNS:
        # A leading minus makes a number: COPY's own output is the cell, and NULL (a click
        # without a campaign) an empty one, as format_cell writes None.
        return ref
    if column in _FLOAT_COLUMNS:
        # Of float8's texts only -Infinity starts like a formula without being a number.
        return f"CASE WHEN {ref} = '-Infinity' THEN '''-Infinity' ELSE {ref}::text END"
    return (
        f"CASE WHEN ascii({ref}) < {_SQL_FORMULA_BELOW}"
        f" AND ascii({ref}) IN ({_SQL_FORMULA_CODES}) AND {ref} !~ {_SQL_NUMBER}"
        # COPY writes '' as "" but NULL as nothing; Python's csv writes both as nothing.
        f" THEN '''' || {ref} ELSE NULLIF({ref}, '') END"
    )


def copy_select(clicks: QuerySet[Click]) -> tuple[str, tuple[object, ...]]:
    """A SELECT of ``clicks`` as CSV cell text in CLICK_COLUMNS order, by time then id."""
    # Aliases c0, c1...: the joined tables repeat column names (external_id, utm_source).
    aliases = {f"c{index}": F(source) for index, source in enumerate(_SOURCES)}
    inner, params = clicks.order_by().values(**aliases).query.sql_with_params()
    cells = ", ".join(
        _copy_cell_sql(column, f"t.c{index}") for index, column in enumerate(CLICK_COLUMNS)
    )
    order = f"t.c{_SOURCES.index('occurred_at')}, t.c{_SOURCES.index('id')}"
    return f"SELECT {cells} FROM ({inner}) AS t ORDER BY {order}", tuple(params)


def stream_clicks_csv(clicks: QuerySet[Click]) -> Iterator[bytes]:
    """The CSV of ``clicks`` (BOM, header, one row per click) in chunks, written by COPY.

    Memory stays flat whatever the row count: rows come off the socket as the client takes them,
    and a slow client slows the server down through TCP back-pressure.
    """
    select, params = copy_select(clicks)
    header = next(csv_lines(CLICK_COLUMNS, (), COPY_LINE_END))
    # A connection of its own, closed at the end whatever happens: a COPY abandoned midway (the
    # client went away) leaves its connection unusable, and Django reuses the request's one.
    db = connections[DEFAULT_DB_ALIAS].copy()
    try:
        db.ensure_connection()
        pg = db.connection
        with pg.transaction(), pg.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            # float_text() assumes the shortest round-trip digits (the default since PG 12).
            cursor.execute("SET LOCAL extra_float_digits = 1")
            # A big export's estimated cost triggers JIT compilation, which here delayed the
            # first row by over a second and made a million-row export slower, not faster.
            cursor.execute("SET LOCAL jit = off")
            # Parallel workers compute the cells; the leader only merges their rows in order
            # and writes the CSV, which is the one part COPY cannot share out.
            cursor.execute("SET LOCAL parallel_leader_participation = off")
            with cursor.copy(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                # The header comes after COPY has started, so a failing query is a 500
                # rather than a file cut short after its header.
                buffer = bytearray((BOM + header).encode())
                for row in _copy_rows(pg, copy):
                    buffer += row
                    if len(buffer) >= STREAM_CHUNK_BYTES:
                        yield bytes(buffer)
                        buffer.clear()
                if buffer:
                    yield bytes(buffer)
    finally:
        db.close()


def _copy_rows(pg: psycopg.Connection, copy: psycopg.Copy) -> Iterator[memoryview]:
    """The rows of a running ``COPY ... TO STDOUT``, as iterating ``copy`` gives them, cheaper.

    psycopg runs two generators and its wait loop for every row: a third of the web worker's CPU
    in a big export. libpq mostly has rows buffered already, so they are taken straight from it,
    and psycopg's own read only serves to wait for more. The end of the COPY is finished as
    psycopg's copy_from() does (psycopg is pinned; tests cover both ways the end can arrive).
    """
    pgconn = pg.pgconn
    while True:
        size, row = pgconn.get_copy_data(1)  # 1: return 0 rather than wait
        if size > 0:
            yield row
        elif size == 0:
            if not (row := copy.read()):  # waits; ends the COPY if its end arrives meanwhile
                return
            yield row
        else:
            # libpq has read the end of the COPY: fetch its result, as copy.read() would have.
            results = pg.wait(generators.fetch_many(pgconn))
            if results[-1].status != pq.ExecStatus.COMMAND_OK:
                raise psycopg.errors.error_from_result(results[-1], encoding=pg.info.encoding)
            return


def download_name(prefix: str, f: ClickFilter, extension: str) -> str:
    """``clicks-2026-10-01-to-2026-10-31.csv``: first and last day of the period, viewer's zone."""
    first = f.start.astimezone(f.tz).date()
    # The end is exclusive: the last included day is the one just before it.
    last = (f.end - timedelta(microseconds=1)).astimezone(f.tz).date()
    return f"{prefix}-{first.isoformat()}-to-{last.isoformat()}.{extension}"


def summary_rows(f: ClickFilter) -> list[list[object]]:
    data = stats.summary(f)
    period, before = data["period"], data["previous_period"] or {}
    current, previous, change = data["current"], data["previous"] or {}, data["change"]
    rows: list[list[object]] = [
        ["period_start", period["start"], before.get("start"), None],
        ["period_end", period["end"], before.get("end"), None],
    ]
    for metric in ("clicks", "unique", "bots", "qr", "qr_share"):
        rows.append([metric, current[metric], previous.get(metric), change.get(metric)])
    return rows


def timeseries_rows(f: ClickFilter) -> list[list[object]]:
    data = stats.timeseries(f)
    # The previous period can be shorter (a month before a longer one) or absent (all time).
    before = [point["clicks"] for point in data["previous"]]
    return [
        [point["t"], point["clicks"], point["unique"], before[i] if i < len(before) else None]
        for i, point in enumerate(data["current"])
    ]


def breakdown_rows(f: ClickFilter, dimension: str) -> list[list[object]]:
    # Every value, not the dashboard's top ten: a download is for the long tail too.
    data = stats.breakdown(f, dimension, limit=None)
    return [
        [row["value"], row["label"], row["clicks"], row["unique"], row["share"]]
        for row in data["rows"]
    ]


def report_csv(f: ClickFilter, report: str) -> str:
    """One report of REPORTS as CSV text, BOM first."""
    if report == "summary":
        header, rows = SUMMARY_COLUMNS, summary_rows(f)
    elif report == "timeseries":
        header, rows = TIMESERIES_COLUMNS, timeseries_rows(f)
    else:
        header, rows = BREAKDOWN_COLUMNS, breakdown_rows(f, report)
    cells = ([format_cell(value) for value in row] for row in rows)
    return BOM + "".join(csv_lines(header, cells))


def report_zip(f: ClickFilter) -> bytes:
    """Every report of REPORTS as ``<report>.csv`` in one ZIP (small: built in memory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for report in REPORTS:
            archive.writestr(f"{report}.csv", report_csv(f, report))
    return buffer.getvalue()
