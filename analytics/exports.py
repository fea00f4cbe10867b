"""Click rows as CSV, the same columns everywhere (command line, web export).

Cells that a spreadsheet would run as a formula are neutralized (OWASP "CSV injection"): text
starting with = + - @ tab or carriage return gets a leading apostrophe, while plain numbers such as
a negative longitude stay numbers.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from django.db.models import QuerySet

from analytics.models import Click

CLICK_COLUMNS = [
    "id",
    "occurred_at",
    "sender",
    "external_id",
    "campaign",
    "campaign_external_id",
    "url",
    "country",
    "region",
    "city",
    "continent",
    "latitude",
    "longitude",
    "device",
    "browser",
    "os",
    "referer",
    "referer_url",
    "is_qr",
    "is_bot",
    "is_unique",
    "recipient_email",
    "sharer_email",
    "utm_source",
    "utm_medium",
    "utm_campaign",
]

# The ORM path of each column, in CLICK_COLUMNS order.
_SOURCES = [
    "id",
    "occurred_at",
    "sender",
    "external_id",
    "campaign__name",
    "campaign__external_id",
    "url",
    "country",
    "region",
    "city",
    "continent",
    "latitude",
    "longitude",
    "device",
    "browser",
    "os",
    "referer",
    "referer_url",
    "is_qr",
    "is_bot",
    "is_unique",
    "recipient__email",
    "sharer__email",
    "utm_source",
    "utm_medium",
    "utm_campaign",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


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
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return neutralize(str(value))


def click_rows(clicks: QuerySet[Click], chunk_size: int = 5000) -> Iterator[list[str]]:
    """Rows for ``clicks`` in time order, read through a server-side cursor (constant memory)."""
    values = clicks.order_by("occurred_at", "id").values_list(*_SOURCES)
    for row in values.iterator(chunk_size=chunk_size):
        yield [format_cell(value) for value in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text line by line, for streaming responses."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
