"""The API documentation says what the API does.

Each test reads a statement from the OpenAPI schema as /api/schema/ serves it (or from README's
API section) and checks the behaviour it describes, so changing either alone fails here.
"""

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from analytics import campaigns
from analytics.api_clicks import CampaignPagination, ClickCursorPagination
from analytics.filters import DIMENSIONS
from analytics.models import Campaign, Click, Sender, WebhookEndpoint

README = Path(__file__).resolve().parent.parent / "README.md"
OCTOBER = "range=custom&from=2026-10-01&to=2026-10-31"
NOON = datetime(2026, 10, 15, 12, tzinfo=UTC)
KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def schema(marketer_client) -> dict:
    response = marketer_client.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.json()


def _text(value: str) -> str:
    """Docstrings keep their line breaks in the schema; compare the words."""
    return " ".join(value.split())


def description(schema: dict, path: str) -> str:
    return _text(schema["paths"][path]["get"]["description"])


def parameter(schema: dict, path: str, name: str) -> str:
    parameters = schema["paths"][path]["get"]["parameters"]
    return _text(next(p for p in parameters if p["name"] == name)["description"])


def field(schema: dict, component: str, name: str) -> str:
    return _text(schema["components"]["schemas"][component]["properties"][name]["description"])


def get(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


# --- /api/campaigns/ --------------------------------------------------------------------------


def test_campaign_counts_last_click_and_sparkline_follow_every_filter(
    schema, marketer_client, make_click
):
    assert "Every filter applies to the counts, the last click and the sparkline." in (
        description(schema, "/api/campaigns/")
    )
    assert field(schema, "Campaign", "clicks") == (
        "Its clicks in the period that match every filter."
    )
    assert field(schema, "Campaign", "last_click") == (
        "Its most recent click in the period that matches every filter; null if none."
    )
    assert field(schema, "Campaign", "sparkline") == (
        "Those clicks per bucket of the period, as /api/stats/timeseries/ buckets them."
    )
    launch = Campaign.objects.create(sender=Sender.HEYOO, external_id="h1", name="Launch")
    quiet = Campaign.objects.create(sender=Sender.HEYOO, external_id="h2", name="quiet")
    for campaign, when, country in (
        (launch, datetime(2026, 9, 20, tzinfo=UTC), "US"),  # before the period
        (launch, datetime(2026, 10, 10, 9, tzinfo=UTC), "US"),
        (launch, datetime(2026, 10, 20, tzinfo=UTC), "DE"),  # later, another country
        (launch, datetime(2026, 11, 5, tzinfo=UTC), "US"),  # after the period
        (quiet, datetime(2026, 10, 12, tzinfo=UTC), "DE"),
    ):
        make_click(when, sender=Sender.HEYOO, campaign=campaign, country=country)

    rows = get(marketer_client, f"/api/campaigns/?{OCTOBER}&country=US")["results"]
    series = get(
        marketer_client,
        f"/api/stats/timeseries/?{OCTOBER}&country=US&campaign={launch.canonical_id}",
    )

    by_name = {row["name"]: row for row in rows}
    assert (by_name["Launch"]["clicks"], by_name["Launch"]["unique"]) == (1, 1)
    assert by_name["Launch"]["last_click"] == "2026-10-10T09:00:00Z"
    assert by_name["Launch"]["sparkline"] == [point["clicks"] for point in series["current"]]
    assert sum(by_name["Launch"]["sparkline"]) == 1
    assert (by_name["quiet"]["clicks"], by_name["quiet"]["last_click"]) == (0, None)
    assert by_name["quiet"]["sparkline"] == [0] * 31


def test_campaigns_listed_are_those_the_sender_and_campaign_filters_allow_busiest_first(
    schema, marketer_client, make_click
):
    zeta = Campaign.objects.create(sender=Sender.HEYOO, external_id="h1", name="zeta")
    alpha = Campaign.objects.create(sender=Sender.HEYOO, external_id="h2", name="Alpha")
    busy = Campaign.objects.create(sender=Sender.DUB, external_id="d1", name="Busy")
    for campaign, count in ((zeta, 1), (alpha, 1), (busy, 2)):
        for _ in range(count):
            make_click(NOON, sender=campaign.sender, campaign=campaign, country="US")

    assert (
        "Every campaign the sender and campaign filters allow is listed, with zero when none of "
        "its clicks match; equal counts are in name order."
    ) in description(schema, "/api/campaigns/")

    def names(query: str) -> list[tuple[str, int]]:
        rows = get(marketer_client, f"/api/campaigns/?{OCTOBER}&{query}")["results"]
        return [(row["name"], row["clicks"]) for row in rows]

    assert names("") == [("Busy", 2), ("Alpha", 1), ("zeta", 1)]
    assert names("country=DE") == [("Alpha", 0), ("Busy", 0), ("zeta", 0)]
    assert names("sender=heyoo") == [("Alpha", 1), ("zeta", 1)]
    assert names("sender!=heyoo") == [("Busy", 2)]
    assert names(f"campaign={zeta.canonical_id}") == [("zeta", 1)]
    assert names(f"campaign!={zeta.canonical_id}") == [("Busy", 2), ("Alpha", 1)]


# --- range, from, to, tz ------------------------------------------------------------------------


def _midnight(day: date, tz: ZoneInfo) -> str:
    return datetime.combine(day, time(), tzinfo=tz).isoformat()


def _period(client, query: str, tz: ZoneInfo) -> tuple[dict, set[date]]:
    """The summary's period, and today's date in ``tz`` (both, if midnight passed meanwhile)."""
    before = timezone.now().astimezone(tz).date()
    body = get(client, f"/api/stats/summary/?{query}&tz={tz.key}")
    after = timezone.now().astimezone(tz).date()
    return body, {before, after}


@pytest.mark.parametrize("days", [7, 30, 90])
def test_day_ranges_are_calendar_days_of_tz_including_today(schema, marketer_client, days):
    assert "7d, 30d, 90d: that many calendar days of tz, today included." in parameter(
        schema, "/api/stats/summary/", "range"
    )

    body, todays = _period(marketer_client, f"range={days}d", KOLKATA)

    period = body["period"]
    assert (period["start"], period["end"]) in {
        (
            _midnight(d - timedelta(days=days - 1), KOLKATA),
            _midnight(d + timedelta(days=1), KOLKATA),
        )
        for d in todays
    }
    assert body["previous_period"]["end"] == period["start"]
    assert body["previous_period"]["start"] in {
        _midnight(d - timedelta(days=2 * days - 1), KOLKATA) for d in todays
    }


def test_24h_is_the_24_hours_up_to_now(schema, marketer_client):
    assert "24h: the 24 hours up to now." in parameter(schema, "/api/stats/summary/", "range")
    before = timezone.now()

    period = get(marketer_client, "/api/stats/summary/?range=24h")["period"]

    start, end = datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"])
    assert before <= end <= timezone.now()
    assert end - start == timedelta(hours=24)


def test_12m_is_this_month_so_far_and_the_11_before_against_the_same_days_a_year_earlier(
    schema, marketer_client
):
    assert "12m: this calendar month so far and the 11 before." in parameter(
        schema, "/api/stats/summary/", "range"
    )
    assert "for month, last_month, ytd and 12m, the same days that many months earlier" in (
        parameter(schema, "/api/stats/summary/", "range")
    )

    body, todays = _period(marketer_client, "range=12m", KOLKATA)

    def month(day: date, shift: int) -> date:
        index = day.year * 12 + day.month - 1 + shift
        return date(index // 12, index % 12 + 1, 1)

    # Never a day after today (the calendar year's remaining days were drawn as zeros).
    assert (body["period"]["start"], body["period"]["end"]) in {
        (_midnight(month(d, -11), KOLKATA), _midnight(d + timedelta(days=1), KOLKATA))
        for d in todays
    }
    assert (body["previous_period"]["start"], body["previous_period"]["end"]) in {
        (
            _midnight(month(d, -23), KOLKATA),
            _midnight((d + timedelta(days=1)).replace(year=d.year - 1), KOLKATA),
        )
        for d in todays
    }


def test_all_starts_on_the_first_clicks_day_and_has_no_previous_period(
    schema, marketer_client, make_click
):
    assert "all: from the day of the first click" in parameter(
        schema, "/api/stats/summary/", "range"
    )
    assert "Null for range=all." in field(schema, "Summary", "previous_period")
    make_click(datetime(2026, 3, 4, 20, tzinfo=UTC))  # March 5 in Kolkata

    body, todays = _period(marketer_client, "range=all", KOLKATA)

    assert body["period"]["start"] == "2026-03-05T00:00:00+05:30"
    assert body["period"]["end"] in {_midnight(d + timedelta(days=1), KOLKATA) for d in todays}
    assert (body["previous_period"], body["previous"]) == (None, None)
    assert set(body["change"].values()) == {None}
    assert get(marketer_client, "/api/stats/timeseries/?range=all")["previous"] == []


def test_custom_range_includes_both_days_of_tz_and_compares_with_as_many_days_before(
    schema, marketer_client, make_click
):
    assert "custom: the days from `from` to `to`, both included." in parameter(
        schema, "/api/stats/summary/", "range"
    )
    assert "the one of the same length just before" in parameter(
        schema, "/api/stats/summary/", "range"
    )
    # Bogotá is UTC-5: each pair straddles a local midnight at an edge of October.
    make_click(datetime(2026, 10, 1, 4, 30, tzinfo=UTC))  # Sep 30, 23:30: the previous period
    make_click(datetime(2026, 10, 1, 5, 30, tzinfo=UTC))  # Oct 1, 00:30
    make_click(datetime(2026, 11, 1, 4, 30, tzinfo=UTC))  # Oct 31, 23:30
    make_click(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # Nov 1, 00:30: after the period

    body = get(marketer_client, f"/api/stats/summary/?{OCTOBER}&tz=America/Bogota")

    assert body["period"]["start"] == "2026-10-01T00:00:00-05:00"
    assert body["period"]["end"] == "2026-11-01T00:00:00-05:00"
    assert body["previous_period"]["start"] == "2026-08-31T00:00:00-05:00"
    assert (body["current"]["clicks"], body["previous"]["clicks"]) == (2, 1)


def test_from_and_to_are_required_with_custom_and_ignored_otherwise(schema, marketer_client):
    path = "/api/stats/summary/"
    assert parameter(schema, path, "from") == (
        "First day of range=custom, 2000-01-01 or later; required with it, ignored otherwise."
    )
    assert parameter(schema, path, "to") == (
        "Last day, included, of range=custom; required with it, not before from and "
        "not after tomorrow in tz, ignored otherwise."
    )
    tomorrow = timezone.now().astimezone(ZoneInfo("Pacific/Kiritimati")).date() + timedelta(1)

    missing = marketer_client.get(f"{path}?range=custom&to=2026-10-31")
    backwards = marketer_client.get(f"{path}?range=custom&from=2026-10-31&to=2026-10-01")
    too_old = marketer_client.get(f"{path}?range=custom&from=1999-12-31&to=2026-10-01")
    future = marketer_client.get(
        f"{path}?range=custom&from=2026-10-01&to={tomorrow + timedelta(1)}&tz=Pacific/Kiritimati"
    )
    latest = marketer_client.get(
        f"{path}?range=custom&from=2026-10-01&to={tomorrow}&tz=Pacific/Kiritimati"
    )
    ignored = marketer_client.get(f"{path}?range=7d&from=soon&to=later")

    assert missing.status_code == backwards.status_code == too_old.status_code == 400
    assert future.status_code == 400
    assert missing.json() == {"detail": "from must be a date as YYYY-MM-DD, got an empty value."}
    assert backwards.json() == {"detail": "to must be on or after from."}
    assert too_old.json() == {"detail": "from must be on or after 2000-01-01."}
    assert future.json()["detail"].startswith(f"to must be on or before {tomorrow}")
    assert latest.status_code == 200
    assert ignored.status_code == 200


def test_tz_sets_the_days_of_the_period_and_the_buckets(schema, marketer_client, make_click):
    assert "whose calendar sets the period's days and whose local time the time series buckets" in (
        parameter(schema, "/api/stats/timeseries/", "tz")
    )
    assert field(schema, "TimeseriesPoint", "t") == (
        "Bucket start in tz, with its offset; weeks start on Monday."
    )
    make_click(datetime(2026, 10, 31, 20, tzinfo=UTC))  # Nov 1, 01:30 in Kolkata

    utc = get(marketer_client, f"/api/stats/timeseries/?{OCTOBER}&tz=UTC")
    kolkata = get(marketer_client, f"/api/stats/timeseries/?{OCTOBER}&tz=Asia/Kolkata")

    assert sum(point["clicks"] for point in utc["current"]) == 1
    assert sum(point["clicks"] for point in kolkata["current"]) == 0
    assert kolkata["tz"] == "Asia/Kolkata"
    assert kolkata["current"][0]["t"] == "2026-10-01T00:00:00+05:30"
    assert marketer_client.get("/api/stats/summary/?tz=Mars/Olympus").json() == {
        "detail": "tz must be an IANA time zone such as Europe/Berlin, got “Mars/Olympus”."
    }


@pytest.mark.parametrize(
    ("query", "bucket"),
    [
        ("range=24h", "hour"),
        ("range=custom&from=2026-10-01&to=2026-10-02", "hour"),
        ("range=custom&from=2026-10-01&to=2026-10-03", "day"),
        ("range=90d", "day"),
        ("range=custom&from=2026-01-01&to=2026-06-30", "week"),
        ("range=12m", "month"),
    ],
)
def test_the_bucket_follows_the_length_of_the_period(schema, marketer_client, query, bucket):
    # drf-spectacular lists the choices after the text.
    assert field(schema, "Timeseries", "bucket").startswith(
        "The bucket parameter; without it, hour for periods up to 2 days, day up to 92 days, "
        "week up to 200 days, month beyond."
    )

    body = get(marketer_client, f"/api/stats/timeseries/?{query}")

    assert body["bucket"] == bucket
    assert len(body["previous"]) == len(body["current"])
    if bucket == "week":
        assert {datetime.fromisoformat(p["t"]).weekday() for p in body["current"]} == {0}


# --- bots and the dimension filters ---------------------------------------------------------


def test_bots_exclude_leaves_bot_clicks_out_but_the_summary_counts_them(
    schema, marketer_client, make_click
):
    assert parameter(schema, "/api/clicks/", "bots") == (
        "exclude leaves clicks flagged as bots out of every count and list; include counts them. "
        "The summary's bots figure counts them either way."
    )
    make_click(NOON)
    make_click(NOON, is_bot=True)

    def figures(query: str) -> tuple[int, int, int]:
        summary = get(marketer_client, f"/api/stats/summary/?{OCTOBER}&{query}")["current"]
        clicks = get(marketer_client, f"/api/clicks/?{OCTOBER}&{query}")["results"]
        return summary["clicks"], summary["bots"], len(clicks)

    assert figures("") == figures("bots=exclude") == (1, 1, 1)
    assert figures("bots=include") == (2, 1, 2)


def test_dimension_filters_mean_what_their_descriptions_say(schema, marketer_client, make_click):
    path = "/api/clicks/"
    assert "repeat the parameter for several values (any of them matches)." in parameter(
        schema, path, "country"
    )
    assert "An empty value means unknown." in parameter(schema, path, "country")
    assert "Clicks whose value is unknown are kept unless the empty value is given." in (
        parameter(schema, path, "country!")
    )
    for key in DIMENSIONS:
        assert "Filters on different dimensions all apply." in parameter(schema, path, key)
    launch = Campaign.objects.create(sender=Sender.DUB, external_id="d1", name="Launch")
    make_click(NOON, country="US", device="mobile", campaign=launch)
    make_click(NOON, country="DE", device="mobile")
    make_click(NOON, country="", device="desktop")
    make_click(NOON, country="FR", device="desktop")

    def countries(query: str) -> list[str]:
        rows = get(marketer_client, f"{path}?{OCTOBER}&{query}")["results"]
        return sorted(row["country"] for row in rows)

    assert countries("country=US&country=DE") == ["DE", "US"]
    assert countries("country=") == [""]
    assert countries("country!=US") == ["", "DE", "FR"]
    assert countries("country!=US&country!=") == ["DE", "FR"]
    assert countries("country!=US&device=desktop") == ["", "FR"]
    assert countries("country=US&device=desktop") == []
    assert countries(f"campaign!={launch.canonical_id}") == ["", "DE", "FR"]  # no campaign: kept
    assert countries("campaign=") == ["", "DE", "FR"]


def test_sender_has_no_unknown_value(schema, marketer_client):
    assert "empty value" not in parameter(schema, "/api/clicks/", "sender")
    assert "unknown" not in parameter(schema, "/api/clicks/", "sender!")

    response = marketer_client.get("/api/clicks/?sender=")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("sender must be one of dub, heyoo,")


# --- breakdown ---------------------------------------------------------------------------------


def test_breakdown_lists_the_top_values_most_clicked_first_and_sums_the_rest(
    schema, marketer_client, make_click
):
    path = "/api/stats/breakdown/{dimension}/"
    assert parameter(schema, path, "limit") == (
        "How many top values to list, 1 to 1000; the rest are summed in other."
    )
    assert field(schema, "Breakdown", "rows") == (
        "Most clicked first; equal counts in order of value (campaign: by id, no campaign last)."
    )
    assert field(schema, "BreakdownRow", "share") == "clicks / total.clicks, rounded to 4 places."
    for country, count in (("US", 3), ("FR", 2), ("", 2), ("DE", 2), ("GB", 1)):
        for _ in range(count):
            make_click(NOON, country=country)

    body = get(marketer_client, f"/api/stats/breakdown/country/?{OCTOBER}&limit=3")

    assert [(row["value"], row["clicks"], row["share"]) for row in body["rows"]] == [
        ("US", 3, 0.3),
        ("", 2, 0.2),
        ("DE", 2, 0.2),
    ]
    assert body["other"] == {"clicks": 3, "unique": 3, "share": 0.3}
    assert body["total"] == {"clicks": 10, "unique": 10}
    for limit in ("0", "1001", "ten"):
        response = marketer_client.get(f"/api/stats/breakdown/country/?limit={limit}")
        assert response.status_code == 400
        assert response.json() == {"detail": "limit must be a whole number from 1 to 1000."}
    everything = get(marketer_client, f"/api/stats/breakdown/country/?{OCTOBER}&limit=1000")
    assert (len(everything["rows"]), everything["other"]) == (5, None)


def test_breakdown_by_campaign_puts_no_campaign_last_among_equals(marketer_client, make_click):
    first = Campaign.objects.create(sender=Sender.DUB, external_id="d1", name="First")
    second = Campaign.objects.create(sender=Sender.DUB, external_id="d2", name="Second")
    for campaign in (None, second, first):
        make_click(NOON, campaign=campaign)

    body = get(marketer_client, f"/api/stats/breakdown/campaign/?{OCTOBER}")

    assert [row["value"] for row in body["rows"]] == [
        str(first.canonical_id),
        str(second.canonical_id),
        "",
    ]


# --- summary -----------------------------------------------------------------------------------


def test_summary_change_is_relative_and_the_qr_share_a_difference(
    schema, marketer_client, make_click
):
    assert field(schema, "Change", "clicks") == (
        "Relative change on the previous period, 0.25 = +25%; null when the previous period had "
        "none or for range=all."
    )
    assert field(schema, "Change", "qr_share").startswith(
        "Difference of the shares, 0.05 = 5 points"
    )
    make_click(NOON, is_qr=True)
    make_click(NOON)
    make_click(datetime(2026, 9, 15, tzinfo=UTC))

    change = get(marketer_client, f"/api/stats/summary/?{OCTOBER}")["change"]
    empty_before = get(
        marketer_client, "/api/stats/summary/?range=custom&from=2026-09-01&to=2026-09-30"
    )["change"]

    assert change == {"clicks": 1.0, "unique": 1.0, "bots": None, "qr_share": 0.5}
    assert empty_before == {"clicks": None, "unique": None, "bots": None, "qr_share": None}


# --- pagination and order of the lists --------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/clicks/", "/api/campaigns/"])
def test_page_size_is_100_by_default_and_at_most_1000(schema, marketer_client, path):
    assert parameter(schema, path, "page_size") == (
        "Rows per page: 100 unless given, at most 1000 (a larger value gives 1000, a value that "
        "is not a positive whole number gives 100)."
    )
    if path == "/api/clicks/":
        endpoint = WebhookEndpoint.objects.create(sender=Sender.DUB, name="bulk")
        Click.objects.bulk_create(
            Click(sender=Sender.DUB, click_key=f"k{i}", endpoint=endpoint, occurred_at=NOON)
            for i in range(1001)
        )
    else:
        Campaign.objects.bulk_create(
            Campaign(sender=Sender.DUB, external_id=f"c{i}") for i in range(1001)
        )
        campaigns.remap()  # a bulk insert places no campaign: each gets a campaign of its own

    def size(page_size: str) -> int:
        query = f"&page_size={page_size}" if page_size else ""
        return len(get(marketer_client, f"{path}?{OCTOBER}{query}")["results"])

    assert size("") == 100
    assert size("7") == 7
    assert size("5000") == 1000
    assert size("0") == size("-3") == size("many") == 100


def test_clicks_are_newest_first_and_highest_id_first_at_equal_times(
    schema, marketer_client, make_click
):
    assert description(schema, "/api/clicks/").startswith(
        "The clicks of the filtered view, newest first (equal times: highest id first)"
    )
    older = make_click(NOON - timedelta(hours=1))
    tied = [make_click(NOON), make_click(NOON)]

    rows = get(marketer_client, f"/api/clicks/?{OCTOBER}")["results"]

    assert [row["id"] for row in rows] == [tied[1].id, tied[0].id, older.id]


# --- errors ------------------------------------------------------------------------------------


def test_documented_errors_are_answered_with_a_detail(schema, marketer_client, django_user_model):
    responses = schema["paths"]["/api/stats/breakdown/{dimension}/"]["get"]["responses"]
    assert responses["401"]["description"] == (
        "No or invalid credentials (send Authorization: Token <key>)."
    )
    assert responses["403"]["description"] == "The account lacks the Marketer permission."
    assert responses["404"]["description"] == "Unknown dimension."
    assert schema["paths"]["/api/campaigns/"]["get"]["responses"]["404"]["description"] == (
        "There is no such page."
    )
    outsider = Client()
    outsider.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))

    anonymous = Client().get("/api/stats/summary/")
    forbidden = outsider.get("/api/stats/summary/")
    bad = marketer_client.get("/api/stats/summary/?bots=some")
    unknown = marketer_client.get("/api/stats/breakdown/shoe_size/")
    no_page = marketer_client.get("/api/campaigns/?page=9")

    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Token")
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"].startswith("Your account may not view analytics")
    assert (bad.status_code, unknown.status_code, no_page.status_code) == (400, 404, 404)
    assert bad.json() == {"detail": "bots must be exclude or include, got “some”."}
    assert unknown.json()["detail"].startswith("Unknown dimension 'shoe_size'; use one of campaign")
    assert no_page.json() == {"detail": "Invalid page."}


# --- README ------------------------------------------------------------------------------------


def _readme_api() -> str:
    text = README.read_text()
    return text[text.index("## The API\n") : text.index("## Reports and exports\n")]


def test_readme_lists_every_endpoint_and_parameter_of_the_schema(schema):
    section = _readme_api()

    for path in schema["paths"]:
        assert f"GET {path.replace('{dimension}', '<dimension>')}" in section, path
    parameters = ("range", "from", "to", "tz", "bots", *DIMENSIONS, "sender_campaign")
    for name in (*parameters, "bucket", "limit", "page_size", "page"):
        assert f"`{name}`" in section, name
    for pagination in (ClickCursorPagination, CampaignPagination):
        assert f"`page_size` {pagination.page_size} by default, up to " in section
        assert f"up to {pagination.max_page_size}" in section


def test_readme_breakdown_example_adds_up():
    example = re.search(r"```json\n(.*?)```", _readme_api(), re.S).group(1)

    body = json.loads(example)
    total = body["total"]["clicks"]

    assert sum(row["clicks"] for row in body["rows"]) + body["other"]["clicks"] == total
    assert (
        sum(row["unique"] for row in body["rows"]) + body["other"]["unique"]
        == (body["total"]["unique"])
    )
    for row in [*body["rows"], body["other"]]:
        assert row["share"] == round(row["clicks"] / total, 4), row


# --- bucket, partial, steps ---------------------------------------------------------------------


def test_bucket_picks_the_granularity_and_refuses_too_many_points(
    schema, marketer_client, make_click
):
    text = parameter(schema, "/api/stats/timeseries/", "bucket")
    assert "weeks start on Monday" in text
    assert "hour is refused for periods longer than 31 days" in text
    assert "the answer's buckets lists those allowed" in text
    make_click(datetime(2026, 10, 13, 9, tzinfo=UTC))  # a Tuesday

    weeks = get(marketer_client, f"/api/stats/timeseries/?{OCTOBER}&tz=UTC&bucket=week")
    hours = marketer_client.get(f"/api/stats/timeseries/?{OCTOBER}&bucket=hour&range=90d")

    assert weeks["bucket"] == "week"
    assert weeks["buckets"] == ["hour", "day", "week", "month"]
    assert weeks["current"][0]["t"] == "2026-09-28T00:00:00+00:00"
    assert [p["clicks"] for p in weeks["current"]][2] == 1
    assert hours.status_code == 400
    assert hours.json()["detail"].startswith("bucket=hour would draw too many points")


def test_the_running_bucket_is_marked_partial_and_later_ones_left_out(schema, marketer_client):
    assert field(schema, "TimeseriesPoint", "partial").startswith(
        "Present and true on the bucket still running"
    )
    assert field(schema, "Timeseries", "current").startswith(
        "Every bucket of the period that has started"
    )

    body = get(marketer_client, "/api/stats/timeseries/?range=today&tz=UTC")

    now = timezone.now()
    assert len(body["current"]) == now.hour + 1
    assert body["current"][-1]["partial"] is True
    assert not any("partial" in point for point in body["current"][:-1])


def test_summary_steps_are_the_periods_before_and_after(schema, marketer_client):
    assert field(schema, "Steps", "next").startswith("The range of the same length just after")

    body = get(marketer_client, f"/api/stats/summary/?{OCTOBER}")

    assert body["steps"] == {
        "previous": {"range": "custom", "from": "2026-09-01", "to": "2026-09-30"},
        "next": {"range": "custom", "from": "2026-11-01", "to": "2026-11-30"},
    }
