"""The clicks CSV of web downloads, written by PostgreSQL (``COPY ... TO STDOUT``).

Several times faster than formatting rows in Python: ``_copy_cell_sql`` renders every cell
exactly as ``exports.format_cell`` does, so the command line (Python path) and the web (SQL path)
agree byte for byte apart from line endings.
"""

from collections.abc import Iterator

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, QuerySet
from psycopg import generators, pq

from analytics.exports import _FORMULA_START, _SOURCES, BOM, CLICK_COLUMNS, csv_lines
from analytics.models import Click

# COPY ends CSV lines with \n, so the clicks header does too. Python-written CSVs keep \r\n: with
# "\n" as its line end, Python 3.11's csv would leave a bare \r in a cell unquoted.
COPY_LINE_END = "\n"
# COPY hands over one row at a time; one response write per row would cost more than the row.
STREAM_CHUNK_BYTES = 256 * 1024

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
