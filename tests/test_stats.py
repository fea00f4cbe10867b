"""The dashboard's numbers, checked against a known set of clicks."""

from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from analytics import stats
from analytics.filters import ClickFilter, FilterError
from analytics.models import Campaign

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _filter(query: str, now: datetime = NOW) -> ClickFilter:
    return ClickFilter.from_query(QueryDict(query), now=now)


@pytest.fixture
def clicks(make_click):
    spring = Campaign.objects.create(sender="heyoo", external_id="c1", name="Spring")
    autumn = Campaign.objects.create(sender="heyoo", external_id="c2", name="Autumn")
    at = lambda day, hour=10: datetime(2026, 3, day, hour, tzinfo=UTC)  # noqa: E731
    make_click(at(20), country="US", device="mobile", referer="google.com", campaign=spring)
    make_click(at(19), country="US", device="desktop", referer="(direct)", is_unique=False)
    make_click(at(18), country="DE", device="mobile", referer="google.com", campaign=spring)
    make_click(at(18), country="DE", device="mobile", is_qr=True, campaign=autumn)
    make_click(at(14), country="", device="", referer="", sender="woodpecker")
    make_click(at(20), country="US", device="desktop", is_bot=True)
    # The previous 7 days: two human clicks.
    make_click(at(12), country="US", device="mobile")
    make_click(at(8), country="FR", device="mobile", campaign=spring)
    # Outside both periods.
    make_click(datetime(2026, 2, 1, tzinfo=UTC), country="US")
    return {"spring": spring, "autumn": autumn}


def test_summary_counts_period_and_change_against_previous(clicks):
    result = stats.summary(_filter("range=7d&tz=UTC"))

    assert result["current"] == {"clicks": 5, "unique": 4, "bots": 1, "qr": 1, "qr_share": 0.2}
    assert result["previous"] == {"clicks": 2, "unique": 2, "bots": 0, "qr": 0, "qr_share": 0.0}
    assert result["change"] == {"clicks": 1.5, "unique": 1.0, "bots": None, "qr_share": 0.2}
    assert result["period"]["start"] == "2026-03-14T00:00:00+00:00"
    assert result["previous_period"]["start"] == "2026-03-07T00:00:00+00:00"


def test_summary_includes_bots_when_asked(clicks):
    result = stats.summary(_filter("range=7d&tz=UTC&bots=include"))

    assert result["current"]["clicks"] == 6
    assert result["current"]["bots"] == 1


def test_country_breakdown_counts_shares_and_unknown(clicks):
    result = stats.breakdown(_filter("range=7d&tz=UTC"), "country")

    assert [(r["value"], r["label"], r["clicks"], r["unique"]) for r in result["rows"]] == [
        ("DE", "Germany", 2, 2),
        ("US", "United States", 2, 1),
        ("", "Unknown", 1, 1),
    ]
    assert [r["share"] for r in result["rows"]] == [0.4, 0.4, 0.2]
    assert result["total"] == {"clicks": 5, "unique": 4}
    assert result["other"] is None


def test_breakdown_groups_the_rest_as_other(clicks):
    result = stats.breakdown(_filter("range=7d&tz=UTC"), "country", limit=1)

    assert [r["value"] for r in result["rows"]] == ["DE"]
    assert result["other"] == {"clicks": 3, "unique": 2, "share": 0.6}


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        ("device", [("mobile", 3), ("", 1), ("desktop", 1)]),
        ("referer", [("", 2), ("google.com", 2), ("(direct)", 1)]),
        ("sender", [("dub", 4), ("woodpecker", 1)]),
    ],
)
def test_breakdowns_by_dimension(clicks, dimension, expected):
    result = stats.breakdown(_filter("range=7d&tz=UTC"), dimension)

    assert [(r["value"], r["clicks"]) for r in result["rows"]] == expected


def test_campaign_breakdown_labels_campaigns_and_no_campaign(clicks):
    result = stats.breakdown(_filter("range=7d&tz=UTC"), "campaign")

    rows = {r["value"]: (r["label"], r["clicks"]) for r in result["rows"]}
    assert rows == {
        str(clicks["spring"].canonical_id): ("Spring (Heyoo)", 2),
        str(clicks["autumn"].canonical_id): ("Autumn (Heyoo)", 1),
        "": ("No campaign", 2),
    }


def test_multi_value_filter_matches_any_value(clicks):
    result = stats.summary(_filter("range=7d&tz=UTC&country=US&country=DE"))

    assert result["current"]["clicks"] == 4


def test_is_not_filter_keeps_rows_with_unknown_value(clicks):
    result = stats.breakdown(_filter("range=7d&tz=UTC&country!=US"), "country")

    assert {r["value"]: r["clicks"] for r in result["rows"]} == {"DE": 2, "": 1}


def test_is_not_campaign_keeps_clicks_without_campaign(clicks):
    spring = clicks["spring"].canonical_id
    result = stats.summary(_filter(f"range=7d&tz=UTC&campaign!={spring}"))

    assert result["current"]["clicks"] == 3  # autumn + two without a campaign


def test_empty_value_filters_unknown(clicks):
    assert stats.summary(_filter("range=7d&tz=UTC&country="))["current"]["clicks"] == 1
    assert stats.summary(_filter("range=7d&tz=UTC&campaign="))["current"]["clicks"] == 2


def test_timeseries_by_day_in_utc_fills_empty_days(clicks):
    result = stats.timeseries(_filter("range=7d&tz=UTC"))

    assert result["bucket"] == "day"
    assert [(p["t"][:10], p["clicks"], p["unique"]) for p in result["current"]] == [
        ("2026-03-14", 1, 1),
        ("2026-03-15", 0, 0),
        ("2026-03-16", 0, 0),
        ("2026-03-17", 0, 0),
        ("2026-03-18", 2, 2),
        ("2026-03-19", 1, 0),
        ("2026-03-20", 1, 1),
    ]
    assert [p["clicks"] for p in result["previous"]] == [0, 1, 0, 0, 0, 1, 0]


def test_timeseries_in_kolkata_moves_late_utc_clicks_to_the_next_day(make_click):
    # 20:00 UTC is 01:30 the next day in India (UTC+05:30).
    make_click(datetime(2026, 3, 18, 20, 0, tzinfo=UTC))
    make_click(datetime(2026, 3, 18, 18, 0, tzinfo=UTC))  # 23:30 IST, same day

    utc = stats.timeseries(_filter("range=7d&tz=UTC"))
    kolkata = stats.timeseries(_filter("range=7d&tz=Asia/Kolkata"))

    assert {p["t"][:10]: p["clicks"] for p in utc["current"] if p["clicks"]} == {"2026-03-18": 2}
    assert {p["t"]: p["clicks"] for p in kolkata["current"] if p["clicks"]} == {
        "2026-03-18T00:00:00+05:30": 1,
        "2026-03-19T00:00:00+05:30": 1,
    }


def test_hourly_buckets_in_kolkata_start_on_local_hours(make_click):
    make_click(datetime(2026, 3, 20, 6, 45, tzinfo=UTC))  # 12:15 IST
    make_click(datetime(2026, 3, 20, 7, 15, tzinfo=UTC))  # 12:45 IST

    result = stats.timeseries(_filter("range=24h&tz=Asia/Kolkata"))

    assert result["bucket"] == "hour"
    assert len(result["current"]) == 25  # a partial first hour and the current one
    assert {p["t"]: p["clicks"] for p in result["current"] if p["clicks"]} == {
        "2026-03-20T12:00:00+05:30": 2
    }


def test_days_across_a_dst_change_follow_the_local_calendar(make_click):
    # New York springs forward on 2026-03-08: midnight is 05:00 UTC before, 04:00 UTC after.
    make_click(datetime(2026, 3, 8, 4, 30, tzinfo=UTC))  # Mar 7, 23:30 EST
    make_click(datetime(2026, 3, 8, 5, 30, tzinfo=UTC))  # Mar 8, 00:30 EST
    make_click(datetime(2026, 3, 9, 3, 30, tzinfo=UTC))  # Mar 8, 23:30 EDT

    f = _filter("range=custom&from=2026-03-07&to=2026-03-09&tz=America/New_York")
    result = stats.timeseries(f)

    assert [(p["t"], p["clicks"]) for p in result["current"]] == [
        ("2026-03-07T00:00:00-05:00", 1),
        ("2026-03-08T00:00:00-05:00", 2),
        ("2026-03-09T00:00:00-04:00", 0),
    ]


def test_hours_of_a_dst_day_are_23(make_click):
    make_click(datetime(2026, 3, 8, 7, 30, tzinfo=UTC))  # 03:30 EDT, right after the jump

    f = _filter("range=custom&from=2026-03-08&to=2026-03-08&tz=America/New_York")
    result = stats.timeseries(f)

    assert result["bucket"] == "hour"
    assert len(result["current"]) == 23
    assert [p["t"] for p in result["current"]][1:4] == [
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    ]
    assert {p["t"]: p["clicks"] for p in result["current"] if p["clicks"]} == {
        "2026-03-08T03:00:00-04:00": 1
    }


def test_bucket_follows_the_range():
    assert _filter("range=24h").bucket == "hour"
    assert _filter("range=90d").bucket == "day"
    assert _filter("range=12m").bucket == "month"
    assert _filter("range=custom&from=2025-11-01&to=2026-03-01").bucket == "week"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("range=5y", "range must be one of"),
        ("tz=Mars/Olympus", "tz must be an IANA time zone"),
        ("range=custom&from=2026-13-01&to=2026-01-02", "from must be a date"),
        ("range=custom&from=2026-02-01&to=2026-01-02", "to must be on or after from"),
        ("device=fridge", "device must be one of"),
        ("campaign=abc", "campaign must be a campaign id"),
        ("bots=maybe", "bots must be"),
    ],
)
def test_bad_filters_are_refused_with_a_message(query, message):
    with pytest.raises(FilterError, match=message):
        _filter(query)


def test_filter_round_trips_through_its_query_string():
    f = _filter("range=custom&from=2026-03-01&to=2026-03-05&tz=Asia/Kolkata&country=US&os!=iOS")

    assert _filter(f.querystring()) == f


def test_campaign_list_counts_clicks_and_draws_sparklines(clicks):
    rows = stats.campaigns(_filter("range=7d&tz=UTC"))

    spring = next(r for r in rows if r["name"] == "Spring")
    assert (spring["id"], spring["automatic"]) == (clicks["spring"].canonical_id, True)
    assert (spring["clicks"], spring["unique"], spring["sender_labels"]) == (2, 2, "Heyoo")
    (sender_campaign,) = spring["sender_campaigns"]
    assert (sender_campaign["id"], sender_campaign["clicks"]) == (clicks["spring"].pk, 2)
    assert spring["sparkline"] == [0, 0, 0, 0, 1, 0, 1]
    assert spring["last_click"] == datetime(2026, 3, 20, 10, tzinfo=UTC)
