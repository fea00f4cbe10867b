"""The breakdowns behind the dashboard's tabs that no rollup holds: UTM source, UTM medium, link
and destination URL, counted from the clicks in one query and served by the same endpoint and
"See all" page as the dimensions; and what the dashboard says Direct, Unknown and No campaign
hold."""

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from analytics import panels, stats
from analytics.filters import DIMENSIONS, ClickFilter
from analytics.models import Link, Sender


@pytest.fixture
def clicks(make_click):
    """Five human clicks in the last day (newsletter 3, twitter 1, none 1) and one bot."""
    link = Link.objects.create(
        sender=Sender.DUB, external_id="link_1", short_link="https://dub.sh/spring"
    )
    hour = timezone.now() - timedelta(hours=1)
    make_click(hour, country="US", utm_source="newsletter", utm_medium="email", link=link,
               url="https://example.com/spring")  # fmt: skip
    make_click(hour, country="US", utm_source="newsletter", utm_medium="email", link=link,
               url="https://example.com/spring", is_unique=False)  # fmt: skip
    make_click(hour, country="DE", utm_source="newsletter", utm_medium="email",
               url="https://example.com/autumn")  # fmt: skip
    make_click(hour, country="DE", utm_source="twitter", utm_medium="social")
    make_click(hour, country="CO", url="https://example.com/spring")
    make_click(hour, country="US", utm_source="crawler", is_bot=True)
    return link


def day_filter(query: str = "") -> ClickFilter:
    return ClickFilter.from_query(QueryDict(f"range=24h&{query}"))


def test_utm_source_breakdown_counts_the_clicks_with_shares_and_unknown(clicks):
    result = stats.breakdown(day_filter(), "utm_source")

    assert result["label"] == "UTM source"
    assert result["rows"] == [
        {"value": "newsletter", "label": "newsletter", "clicks": 3, "unique": 2, "share": 0.6},
        {"value": "", "label": "Unknown", "clicks": 1, "unique": 1, "share": 0.2},
        {"value": "twitter", "label": "twitter", "clicks": 1, "unique": 1, "share": 0.2},
    ]
    assert result["total"] == {"clicks": 5, "unique": 4}
    assert result["other"] is None


def test_click_breakdowns_follow_the_filters_and_the_bot_switch(clicks):
    by_medium = stats.breakdown(day_filter("country=DE"), "utm_medium")
    with_bots = stats.breakdown(day_filter("bots=include"), "utm_source")

    assert [(r["value"], r["clicks"]) for r in by_medium["rows"]] == [("email", 1), ("social", 1)]
    assert ("crawler", 1) in [(r["value"], r["clicks"]) for r in with_bots["rows"]]
    assert with_bots["total"]["clicks"] == 6


def test_link_breakdown_names_links_by_their_short_link_and_the_rest_no_link(clicks):
    result = stats.breakdown(day_filter(), "link")

    assert [(r["value"], r["label"], r["clicks"]) for r in result["rows"]] == [
        ("", "No link", 3),
        (str(clicks.pk), "https://dub.sh/spring", 2),
    ]


def test_destination_url_breakdown_keeps_the_top_rows_and_the_rest_as_other(clicks):
    result = stats.breakdown(day_filter(), "url", limit=1)

    assert [(r["label"], r["clicks"]) for r in result["rows"]] == [
        ("https://example.com/spring", 3)
    ]
    assert result["other"] == {"clicks": 2, "unique": 2, "share": 0.4}


def test_a_click_breakdown_is_one_query(clicks, django_assert_num_queries):
    f = day_filter()

    with django_assert_num_queries(1):
        stats.breakdown(f, "utm_medium")


def test_the_api_serves_the_click_breakdowns_and_still_refuses_unknown_ones(
    marketer_client, clicks
):
    response = marketer_client.get("/api/stats/breakdown/utm_source/?range=24h&limit=1")
    unknown = marketer_client.get("/api/stats/breakdown/utm_term/?range=24h")

    assert response.status_code == 200
    assert response.json()["rows"] == [
        {"value": "newsletter", "label": "newsletter", "clicks": 3, "unique": 2, "share": 0.6}
    ]
    assert unknown.status_code == 404
    assert "utm_source" in unknown.json()["detail"]


def test_see_all_lists_a_click_breakdown_without_filter_links(marketer_client, clicks):
    response = marketer_client.get("/breakdown/utm_source/?range=24h")

    assert response.status_code == 200
    body = response.content.decode()
    assert "newsletter" in body and "60%" in body
    assert "utm_source=" not in body.split("breakdown-table")[1]  # no filter of that name


def test_the_dashboard_lists_its_panels_with_tabs_and_notes(marketer_client, db):
    response = marketer_client.get("/dashboard/")

    assert response.status_code == 200
    config = response.context["config"]["panels"]
    assert [(p["key"], [t["key"] for t in p["tabs"]]) for p in config] == [
        ("sources", ["referer", "utm_source", "utm_medium"]),
        ("campaigns", ["campaign", "link", "url"]),
        ("locations", ["country", "city"]),
        ("devices", ["device", "browser", "os"]),
        ("sender", ["sender"]),
        ("bot_reason", ["bot_reason"]),
    ]
    # Every dimension has a place, and only dimensions filter the dashboard.
    tabs = [tab for panel in config for tab in panel["tabs"]]
    assert {t["key"] for t in tabs} >= set(DIMENSIONS)
    assert {t["key"] for t in tabs if t["filters"]} == set(DIMENSIONS)


def test_direct_unknown_and_no_campaign_are_explained():
    referer = panels.notes("referer")
    assert "no referer was sent" in referer["(direct)"]
    assert "e-mail client" in referer["(direct)"]
    assert referer[""].startswith("Unknown: the sender did not say")
    assert panels.notes("campaign") == {"": "No campaign: clicks on links not tied to a campaign."}
    assert panels.notes("os")[""].startswith("Unknown:")
    # A person's clicks have no bot reason: that is "Human", not unknown.
    assert panels.notes("bot_reason") == {}


def test_see_all_explains_unknown_as_the_dashboard_does(marketer_client, clicks):
    response = marketer_client.get("/breakdown/utm_source/?range=24h")
    campaigns = marketer_client.get("/breakdown/campaign/?range=24h")

    body = response.content.decode()
    assert "Select a value to filter" not in body
    assert "Unknown: the sender did not say the utm_source of the link" in body
    assert "No campaign: clicks on links not tied to a campaign." in campaigns.content.decode()
