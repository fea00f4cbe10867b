"""The page endpoint: a dashboard page's summary, time series and breakdowns in one call, equal
to what the three stats endpoints answer, read from one snapshot."""

from datetime import UTC, datetime

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import closed_counts
from analytics.api import DEFAULT_PAGE_BREAKDOWNS, MAX_PAGE_BREAKDOWNS

OCTOBER = "range=custom&from=2026-10-01&to=2026-10-31&tz=Europe/Berlin"


@pytest.fixture
def october(make_click, make_campaign):
    spring, autumn = make_campaign("Spring"), make_campaign("Autumn")
    rows = [
        (datetime(2026, 9, 20, 12, tzinfo=UTC), "DE", "mobile", spring, False),
        (datetime(2026, 10, 2, 9, tzinfo=UTC), "DE", "mobile", spring, False),
        (datetime(2026, 10, 2, 10, tzinfo=UTC), "US", "desktop", autumn, False),
        (datetime(2026, 10, 15, 22, 30, tzinfo=UTC), "FR", "mobile", autumn, False),
        (datetime(2026, 10, 30, 23, 30, tzinfo=UTC), "US", "tablet", None, True),
    ]
    for when, country, device, campaign, is_bot in rows:
        make_click(when, country=country, device=device, campaign=campaign, is_bot=is_bot)
    return {"spring": spring, "autumn": autumn}


def _page(client, query: str) -> dict:
    response = client.get(f"/api/stats/page/?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_page_answers_what_the_three_endpoints_answer(marketer_client, october):
    page = _page(marketer_client, f"{OCTOBER}&breakdowns=country,campaign:1,bot_reason")

    get = marketer_client.get
    assert page["summary"] == get(f"/api/stats/summary/?{OCTOBER}").json()
    assert page["timeseries"] == get(f"/api/stats/timeseries/?{OCTOBER}").json()
    assert page["breakdowns"] == [
        get(f"/api/stats/breakdown/country/?{OCTOBER}").json() | {"limit": 10},
        get(f"/api/stats/breakdown/campaign/?{OCTOBER}&limit=1").json() | {"limit": 1},
        get(f"/api/stats/breakdown/bot_reason/?{OCTOBER}").json() | {"limit": 10},
    ]
    assert page["summary"]["current"]["clicks"] == 3
    assert page["breakdowns"][1]["other"] == {"clicks": 1, "unique": 1, "share": 0.3333}


def test_page_applies_filters_and_bucket_to_every_answer(marketer_client, october):
    page = _page(marketer_client, f"{OCTOBER}&device=mobile&bucket=week&breakdowns=country")

    assert page["summary"]["current"]["clicks"] == 2
    assert page["timeseries"]["bucket"] == "week"
    assert sum(point["clicks"] for point in page["timeseries"]["current"]) == 2
    assert [(row["value"], row["clicks"]) for row in page["breakdowns"][0]["rows"]] == [
        ("DE", 1),
        ("FR", 1),
    ]


def test_page_gives_one_dimension_at_two_limits_from_one_count(
    marketer_client, october, django_assert_num_queries
):
    with CaptureQueriesContext(connection) as once:
        _page(marketer_client, f"{OCTOBER}&breakdowns=country:1000")
    caches[closed_counts.CACHE].clear()  # both views read with nothing kept
    with django_assert_num_queries(len(once)):
        page = _page(marketer_client, f"{OCTOBER}&breakdowns=country:1,country:1000")

    short, full = page["breakdowns"]
    assert (short["limit"], len(short["rows"]), short["other"]["clicks"]) == (1, 1, 2)
    assert (full["limit"], len(full["rows"]), full["other"]) == (1000, 3, None)


def test_page_defaults_to_the_first_tab_of_every_panel(marketer_client, october):
    page = _page(marketer_client, OCTOBER)

    assert [b["dimension"] for b in page["breakdowns"]] == DEFAULT_PAGE_BREAKDOWNS
    assert DEFAULT_PAGE_BREAKDOWNS == ["referer", "campaign", "country", "device", "sender",
                                       "bot_reason"]  # fmt: skip
    assert {b["limit"] for b in page["breakdowns"]} == {10}


def test_page_with_empty_breakdowns_answers_summary_and_series_only(marketer_client, october):
    page = _page(marketer_client, f"{OCTOBER}&breakdowns=")

    assert page["breakdowns"] == []
    assert page["summary"]["current"]["clicks"] == 3


def test_page_query_count_is_pinned(marketer_client, october, django_assert_num_queries):
    # Session and user, two permission checks; the summary's two periods, the series' two, a
    # count per breakdown and the campaigns' names (countries and referers need no query). A
    # first view also reads and keeps each read's closed days (analytics.closed_counts).
    reads = 2 + 2 + 3
    with django_assert_num_queries(4 + 2 * reads + 1):
        _page(marketer_client, f"{OCTOBER}&breakdowns=campaign,country,referer")
    with django_assert_num_queries(4 + reads + 1):
        _page(marketer_client, f"{OCTOBER}&breakdowns=campaign,country,referer")


@pytest.mark.parametrize(
    ("breakdowns", "message"),
    [
        ("shoe_size", "breakdowns names an unknown dimension “shoe_size”; use campaign, "),
        ("country:0", "limit must be a whole number from 1 to 1000."),
        ("country:many", "limit must be a whole number from 1 to 1000."),
        ("country,country:10", "breakdowns names “country:10” twice."),
        (
            ",".join(f"country:{n}" for n in range(1, MAX_PAGE_BREAKDOWNS + 2)),
            f"breakdowns takes at most {MAX_PAGE_BREAKDOWNS} breakdowns.",
        ),
    ],
)
def test_page_rejects_bad_breakdowns_with_a_message(marketer_client, breakdowns, message):
    response = marketer_client.get(f"/api/stats/page/?breakdowns={breakdowns}")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_page_rejects_a_bad_filter_with_a_message(marketer_client):
    response = marketer_client.get("/api/stats/page/?range=forever")

    assert response.status_code == 400
    assert "range must be one of" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_page_read_with_a_helper_answers_as_the_endpoints(marketer_client, october):
    query = f"{OCTOBER}&breakdowns=country,campaign:1,device,referer,city,os,browser,sender"
    with CaptureQueriesContext(connection) as queries:
        page = _page(marketer_client, query)

    statements = [query["sql"] for query in queries.captured_queries]
    # Authentication first (four queries), then the page's snapshot, shared with the helper.
    assert statements[4:6] == [
        "BEGIN",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_export_snapshot()",
    ]
    assert "COMMIT" in statements
    get = marketer_client.get
    assert page["summary"] == get(f"/api/stats/summary/?{OCTOBER}").json()
    assert page["timeseries"] == get(f"/api/stats/timeseries/?{OCTOBER}").json()
    for answer in page["breakdowns"]:
        alone = get(
            f"/api/stats/breakdown/{answer['dimension']}/?{OCTOBER}&limit={answer['limit']}"
        )
        assert answer == alone.json() | {"limit": answer["limit"]}
    assert not connection.in_atomic_block
