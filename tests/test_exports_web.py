import csv
import io
import random
import time
import zipfile
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import QueryDict, StreamingHttpResponse

from analytics import csv_copy, exports
from analytics.exports import CLICK_COLUMNS, click_rows, csv_lines, float_text, format_cell
from analytics.filters import ClickFilter
from analytics.models import Campaign, Click, Contact, Sender, WebhookEndpoint

OCTOBER = "range=custom&from=2026-10-01&to=2026-10-31"
EXPORT_URLS = [
    f"/export/clicks.csv?{OCTOBER}",
    f"/export/report.csv?dimension=country&{OCTOBER}",
    f"/export/report.zip?{OCTOBER}",
]
# The clicks export reads through a connection of its own, which sees committed rows only.
committed = pytest.mark.django_db(transaction=True)


def at(day: int, hour: int = 12, microsecond: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC) + timedelta(microseconds=microsecond)


def streamed(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def csv_table(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark first"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def api_rows(client, query: str) -> list[dict]:
    rows, url = [], f"/api/clicks/?{query}&page_size=2"
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


@committed
def test_clicks_csv_has_the_rows_the_api_returns_for_the_same_filters(marketer_client, make_click):
    campaign = Campaign.objects.create(sender=Sender.WOODPECKER, external_id="c-9", name="Fall")
    recipient = Contact.objects.create(sender=Sender.WOODPECKER, email="ana@example.co")
    make_click(at(2), country="CO", city="Bogotá", latitude=4.6, longitude=-74.08)
    make_click(at(2), country="CO", city="Medellín", is_unique=False)  # same time: id decides
    make_click(
        at(5, microsecond=250),
        sender=Sender.WOODPECKER,
        country="CO",
        campaign=campaign,
        recipient=recipient,
        url="https://example.co/?a=1,b=2",
    )
    make_click(at(6), country="CO", is_bot=True)  # bots are excluded by default
    make_click(at(7), country="US")  # another country
    make_click(at(1, 3), country="CO")  # September 30, 22:00 in Bogotá: outside the period
    query = f"{OCTOBER}&country=CO&tz=America/Bogota"

    table = csv_table(streamed(marketer_client.get(f"/export/clicks.csv?{query}")))
    api = api_rows(marketer_client, query)

    assert table[0] == CLICK_COLUMNS
    assert list(api[0]) == CLICK_COLUMNS
    assert table[1:] == [
        [format_cell(row[column]) for column in CLICK_COLUMNS] for row in api[::-1]
    ]
    cells = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    assert [row["city"] for row in cells] == ["Bogotá", "Medellín", ""]
    assert [cells[2][column] for column in ("campaign", "campaign_external_id")] == ["Fall", "c-9"]
    assert cells[2]["canonical_campaign_id"] == str(campaign.canonical_id)
    assert cells[2]["canonical_campaign"] == "Fall"
    assert cells[2]["recipient_email"] == "ana@example.co"


@committed
def test_clicks_csv_neutralizes_formulas_but_keeps_negative_numbers(marketer_client, make_click):
    make_click(
        at(3),
        city='=HYPERLINK("http://evil.example","Click")',
        region="-Cundinamarca",
        referer="@evil",
        utm_source="+57",
        utm_medium="\tindent",
        latitude=-33.45,
        longitude=-70.66,
    )

    header, row = csv_table(streamed(marketer_client.get(f"/export/clicks.csv?{OCTOBER}")))
    cell = dict(zip(header, row, strict=True))

    assert cell["city"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert cell["region"] == "'-Cundinamarca"
    assert cell["referer"] == "'@evil"
    assert cell["utm_medium"] == "'\tindent"
    assert cell["utm_source"] == "+57"  # a number, left alone
    assert (cell["latitude"], cell["longitude"]) == ("-33.45", "-70.66")


@committed
def test_non_ascii_text_round_trips_through_the_bom_csv(marketer_client, make_click):
    make_click(at(1), city="Bogotá", region="Distrito Capital")
    make_click(at(2), city="Kraków", region="Małopolskie")

    response = marketer_client.get(f"/export/clicks.csv?{OCTOBER}")
    body = streamed(response)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.count(b"\xef\xbb\xbf") == 1
    header, *rows = csv_table(body)
    region, city = header.index("region"), header.index("city")
    assert [[row[region], row[city]] for row in rows] == [
        ["Distrito Capital", "Bogotá"],
        ["Małopolskie", "Kraków"],
    ]


@committed
def test_copy_export_and_python_rows_agree_cell_for_cell(make_click):
    """The web (PostgreSQL COPY) and the command line (click_rows) write the same cells."""
    campaign = Campaign.objects.create(sender=Sender.HEYOO, external_id="=1+1", name='A, "B"')
    sharer = Contact.objects.create(sender=Sender.HEYOO, email="-x@example.com")
    empty_name = Campaign.objects.create(sender=Sender.DUB, external_id="-2", name="")
    nasty = [
        {"city": "line\nbreak", "region": "cr\rhere", "url": "", "latitude": 4.0},
        {"city": "-", "region": "-1.5e3", "referer": "-.5", "longitude": -0.0},
        {"city": "--1", "region": "1-2", "referer": "\r", "latitude": 1e-5, "longitude": 90.0},
        {"city": "'quoted'", "region": '"', "device": "mobile", "is_qr": True, "is_bot": True},
        {"sender": Sender.HEYOO, "campaign": campaign, "sharer": sharer, "ip": "10.0.0.1"},
        {"city": "-٣", "region": "+", "utm_campaign": "@", "longitude": 179.99999999999997},
        {
            "city": "=1+1",
            "region": "\t-1",
            "referer": "@1",
            "utm_source": "+1e5",
            "utm_medium": "-",
        },
        {"latitude": float("-inf"), "longitude": float("nan"), "url": "-Infinity"},
        {"latitude": float("inf"), "longitude": -1e-05, "campaign": empty_name},
    ]
    for index, fields in enumerate(nasty):
        make_click(at(4, microsecond=index * 1000 if index % 2 else 0), **fields)
    clicks = ClickFilter.from_query(QueryDict(f"{OCTOBER}&bots=include")).clicks()

    web = b"".join(csv_copy.stream_clicks_csv(clicks))
    python = exports.BOM + "".join(csv_lines(CLICK_COLUMNS, click_rows(clicks)))

    # Cell for cell; only the line ends differ (COPY writes \n, the command line \r\n).
    assert csv_table(web) == csv_table(python.encode())
    assert len(csv_table(web)) == len(nasty) + 1
    rows = [dict(zip(CLICK_COLUMNS, row, strict=True)) for row in csv_table(web)[1:]]
    by_city = {row["city"]: row for row in rows}
    assert [by_city["'-٣"][column] for column in ("region", "utm_campaign")] == ["'+", "'@"]
    assert [by_city["'=1+1"][column] for column in ("region", "referer", "utm_source")] == [
        "'\t-1",
        "'@1",
        "+1e5",
    ]
    infinite = [row for row in rows if row["latitude"].endswith("Infinity")]
    assert [(row["latitude"], row["longitude"], row["url"]) for row in infinite] == [
        ("Infinity", "-1e-05", ""),
        ("'-Infinity", "NaN", "'-Infinity"),
    ]
    assert [infinite[0]["campaign"], infinite[0]["campaign_external_id"]] == ["", "-2"]
    # Its own canonical campaign is named after its id at the sender (a number: left alone).
    assert infinite[0]["canonical_campaign"] == "-2"


def test_float_text_matches_postgresql(db):
    rng = random.Random(20261001)
    values = [0.0, -0.0, 4.0, 100.0, 1e-5, 1.5e-5, 0.0001, 1e14, 123456789012345.0, 1e15]
    values += [1e16, 1e22, 5e-324, 1e300, float("nan"), float("inf"), float("-inf")]
    values += [rng.uniform(-180, 180) for _ in range(3000)]
    values += [round(rng.uniform(-180, 180), rng.randint(0, 7)) for _ in range(3000)]
    # Whole numbers past 2**53 may differ (PostgreSQL then prints more digits); no coordinate is.
    values += [rng.uniform(-1, 1) * 10 ** rng.uniform(-300, 15.9) for _ in range(3000)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT v::text FROM unnest(%s::float8[]) AS v", [values])
        postgres = [text for (text,) in cursor.fetchall()]

    assert [float_text(value) for value in values] == postgres


@committed
def test_clicks_csv_streams_rows_as_the_client_reads_them(marketer_client, monkeypatch):
    endpoint = WebhookEndpoint.objects.create(sender=Sender.DUB, name="bulk")
    Click.objects.bulk_create(
        Click(
            sender=Sender.DUB,
            click_key=f"k{i}",
            endpoint=endpoint,
            occurred_at=at(1 + i % 28, microsecond=i),
            city="Bogotá",
        )
        for i in range(3000)
    )
    monkeypatch.setattr(csv_copy, "STREAM_CHUNK_BYTES", 4096)
    rows_read = 0
    copy_rows = csv_copy._copy_rows

    def counting_rows(pg, copy):
        nonlocal rows_read
        for row in copy_rows(pg, copy):
            rows_read += 1
            yield row

    monkeypatch.setattr(csv_copy, "_copy_rows", counting_rows)

    response = marketer_client.get(f"/export/clicks.csv?{OCTOBER}")
    chunks = iter(response.streaming_content)
    first = next(chunks)

    assert 0 < rows_read < 100  # about 4 KB of rows, not 3000 rows
    assert first.count(b"\n") < 100
    rest = b"".join(chunks)
    assert (first + rest).count(b"\n") == 3001
    assert rows_read == 3000


class _Starved:
    """A connection whose libpq never has a row buffered: every row, and the end of the COPY,
    then come through psycopg's own read."""

    def __init__(self) -> None:
        self.pgconn = self

    def get_copy_data(self, async_: int) -> tuple[int, memoryview]:
        return 0, memoryview(b"")


def copy_rows(statement: str, starved: bool, monkeypatch) -> tuple[list, list, Exception | None]:
    """What csv_copy._copy_rows yields for ``statement``, what psycopg's read returned meanwhile,
    and the error it raised, on a connection of its own as the export uses."""
    reads = []
    read = psycopg.Copy.read

    def recording_read(copy):
        try:
            row = read(copy)
        except psycopg.Error:
            reads.append("error")
            raise
        reads.append(bytes(row))
        return row

    monkeypatch.setattr(psycopg.Copy, "read", recording_read)
    db = connections[DEFAULT_DB_ALIAS].copy()
    rows, error = [], None
    try:
        db.ensure_connection()
        pg = db.connection
        with pg.cursor() as cursor, cursor.copy(statement) as copy:
            try:
                for row in csv_copy._copy_rows(_Starved() if starved else pg, copy):
                    rows.append(bytes(row))
            except psycopg.Error as exc:
                error = exc
    finally:
        db.close()
    return rows, reads, error


# A small COPY arrives in one piece, so libpq itself reads its end (or error) along with the rows,
# and _copy_rows must finish the COPY as psycopg would; starved, psycopg's read meets it instead.
@pytest.mark.parametrize("starved", [False, True], ids=["rows-buffered", "one-row-per-wait"])
def test_copy_rows_reads_every_row_and_the_end_of_the_copy(db, monkeypatch, starved):
    statement = "COPY (SELECT g FROM generate_series(1, 5) AS g) TO STDOUT"

    rows, reads, error = copy_rows(statement, starved, monkeypatch)

    assert rows == [b"1\n", b"2\n", b"3\n", b"4\n", b"5\n"]
    assert error is None
    if starved:
        assert reads == [*rows, b""]
    else:
        assert b"" not in reads


@pytest.mark.parametrize("starved", [False, True], ids=["rows-buffered", "one-row-per-wait"])
def test_copy_rows_raises_the_error_that_ends_a_copy(db, monkeypatch, starved):
    statement = "COPY (SELECT 1 / (3 - g) FROM generate_series(1, 5) AS g) TO STDOUT"

    rows, reads, error = copy_rows(statement, starved, monkeypatch)

    assert rows == [b"0\n", b"1\n"]
    assert isinstance(error, psycopg.errors.DivisionByZero)
    if starved:
        assert reads == [*rows, "error"]
    else:
        assert "error" not in reads


@committed
def test_abandoned_clicks_csv_releases_its_connection(marketer_client, make_click, monkeypatch):
    for day in range(1, 29):
        make_click(at(day), city="x" * 100)
    monkeypatch.setattr(csv_copy, "STREAM_CHUNK_BYTES", 256)
    # Sessions other tests left behind (the live server's threads keep theirs) are not ours.
    before = other_sessions()
    response = marketer_client.get(f"/export/clicks.csv?{OCTOBER}")
    next(iter(response.streaming_content))

    response.close()  # what the server does when the client goes away

    assert other_sessions(settled=before) <= before


def other_sessions(settled: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Sessions on the test database besides this one (pid and start time, as a pid may be
    reused), once the ones beyond ``settled`` have had time to close."""
    with connection.cursor() as cursor:
        for _ in range(50):
            cursor.execute(
                "SELECT pid::text || '@' || backend_start::text FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            sessions = {row[0] for row in cursor.fetchall()}
            if sessions <= settled:
                break
            time.sleep(0.05)
    return sessions


@committed
def test_clicks_csv_filename_carries_the_range_in_the_viewers_zone(marketer_client):
    response = marketer_client.get(f"/export/clicks.csv?{OCTOBER}&tz=Asia/Tokyo")
    streamed(response)

    assert response["Content-Disposition"] == (
        'attachment; filename="clicks-2026-10-01-to-2026-10-31.csv"'
    )


def test_download_name_ends_on_the_last_included_day():
    f = ClickFilter.from_query(
        QueryDict("range=7d&tz=America/Bogota"), now=datetime(2026, 11, 1, 3, tzinfo=UTC)
    )

    assert exports.download_name("clicks", f, "csv") == "clicks-2026-10-25-to-2026-10-31.csv"


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_exports_send_anonymous_visitors_to_the_login_page(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/export/")


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_exports_refuse_users_without_the_marketer_role(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", EXPORT_URLS)
def test_exports_answer_marketers(marketer_client, url):
    response = marketer_client.get(url)
    if response.streaming:
        streamed(response)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_exports_explain_a_bad_filter(marketer_client):
    response = marketer_client.get("/export/clicks.csv?range=forever")

    assert response.status_code == 400
    assert "range must be one of" in response.content.decode()


def test_report_csv_requires_a_known_dimension(marketer_client):
    response = marketer_client.get(f"/export/report.csv?dimension=shoe_size&{OCTOBER}")

    assert response.status_code == 400
    assert "country" in response.content.decode()


@pytest.fixture
def october(make_click):
    """Six human clicks (five unique) and a bot in October 2026, UTC."""
    make_click(at(3), country="US", city="Austin")
    make_click(at(3, 15), country="US", city="Austin", is_unique=False)
    make_click(at(4), country="US", city="=cmd|' /C calc'!A0")
    make_click(at(10), country="CO", city="Bogotá", is_qr=True)
    make_click(at(10), country="", city="")
    make_click(at(31, 23), country="PL", city="Kraków")
    make_click(at(12), country="DE", is_bot=True)


def report(client, query: str) -> list[list[str]]:
    response = client.get(f"/export/report.csv?{query}")
    assert response.status_code == 200
    return csv_table(response.content)


def test_report_csv_of_a_dimension_has_every_value(marketer_client, october):
    response = marketer_client.get(f"/export/report.csv?dimension=country&{OCTOBER}")

    assert response["Content-Disposition"] == (
        'attachment; filename="report-country-2026-10-01-to-2026-10-31.csv"'
    )
    assert csv_table(response.content) == [
        ["value", "label", "clicks", "unique", "share"],
        ["US", "United States", "3", "2", "0.5"],
        ["", "Unknown", "1", "1", "0.1667"],
        ["CO", "Colombia", "1", "1", "0.1667"],
        ["PL", "Poland", "1", "1", "0.1667"],
    ]
    city = report(marketer_client, f"dimension=city&{OCTOBER}")
    assert ["'=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0", "1", "1", "0.1667"] in city


def test_report_csv_time_series_uses_the_chosen_zone(marketer_client, october):
    rows = report(marketer_client, f"dimension=timeseries&{OCTOBER}&tz=America/Bogota")

    assert rows[0] == ["bucket_start", "clicks", "unique", "previous_clicks"]
    assert len(rows) == 1 + 31
    assert rows[1] == ["2026-10-01T00:00:00-05:00", "0", "0", "0"]
    assert rows[3] == ["2026-10-03T00:00:00-05:00", "2", "1", "0"]  # 12:00 and 15:00 UTC
    assert rows[31] == ["2026-10-31T00:00:00-05:00", "1", "1", "0"]  # Kraków, 18:00 in Bogotá
    assert sum(int(row[1]) for row in rows[1:]) == 6


def test_report_zip_has_the_summary_the_series_and_every_dimension(marketer_client, october):
    response = marketer_client.get(f"/export/report.zip?{OCTOBER}")
    archive = zipfile.ZipFile(io.BytesIO(response.content))

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        'attachment; filename="report-2026-10-01-to-2026-10-31.zip"'
    )
    assert archive.namelist() == [
        "summary.csv",
        "timeseries.csv",
        "campaign.csv",
        "country.csv",
        "device.csv",
        "referer.csv",
        "sender.csv",
        "browser.csv",
        "os.csv",
        "city.csv",
        "bot_reason.csv",
    ]
    summary = {row[0]: row[1:] for row in csv_table(archive.read("summary.csv"))}
    assert summary["clicks"] == ["6", "0", ""]
    assert summary["unique"] == ["5", "0", ""]
    assert summary["bots"] == ["1", "0", ""]
    assert summary["qr_share"] == ["0.1667", "0", ""]
    assert summary["period_start"][:2] == ["2026-10-01T00:00:00+00:00", "2026-08-31T00:00:00+00:00"]
    assert csv_table(archive.read("sender.csv"))[1:] == [["dub", "Dub", "6", "5", "1"]]
    # The bots-and-scanners split counts bots whatever the bot rule, people as the empty value.
    assert csv_table(archive.read("bot_reason.csv"))[1:] == [
        ["", "Human", "6", "5", "0.8571"],
        ["user_agent", "Crawler user agent", "1", "1", "0.1429"],
    ]
    country = marketer_client.get(f"/export/report.csv?dimension=country&{OCTOBER}")
    assert archive.read("country.csv") == country.content
