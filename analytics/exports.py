"""Click rows and reports as CSV, the same columns and cell text everywhere (CLI, web, API).

Cells that a spreadsheet would run as a formula are neutralized (OWASP "CSV injection"): text
starting with = + - @ tab or carriage return gets a leading apostrophe, while plain numbers such as
a negative longitude stay numbers.

The web export of clicks lets PostgreSQL write the CSV (analytics.csv_copy), cell for cell as
``format_cell`` does here.
"""

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet

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

SUMMARY_COLUMNS = ["metric", "current", "previous", "change"]
TIMESERIES_COLUMNS = ["bucket_start", "clicks", "unique", "previous_clicks"]
BREAKDOWN_COLUMNS = ["value", "label", "clicks", "unique", "share"]
# The CSVs of a report ZIP, and the values report.csv accepts as ``dimension``.
REPORTS = ["summary", "timeseries", *DIMENSIONS]


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
