"""Date ranges, presets, steps, buckets, time zones and filter checks, as the filter reads them."""

from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from analytics import stats
from analytics.filters import ClickFilter, FilterError
from analytics.models import Campaign, Sender
from analytics.timeutil import picker_zones, zone_choices

# Saturday, December 5, 2026, 15:00 UTC.
NOW = datetime(2026, 12, 5, 15, tzinfo=UTC)


def _filter(query: str, now: datetime = NOW) -> ClickFilter:
    return ClickFilter.from_query(QueryDict(query), now=now)


def _dates(f: ClickFilter) -> tuple[str, str, str, str]:
    previous = f.previous()
    return (
        f.start.isoformat(),
        f.end.isoformat(),
        previous.start.isoformat(),
        previous.end.isoformat(),
    )


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        # The 12 months end today (not on Dec 31) and compare with the same days a year before.
        ("12m", ("2026-01-01", "2026-12-06", "2025-01-01", "2025-12-06")),
        ("today", ("2026-12-05", "2026-12-06", "2026-12-04", "2026-12-05")),
        ("yesterday", ("2026-12-04", "2026-12-05", "2026-12-03", "2026-12-04")),
        ("month", ("2026-12-01", "2026-12-06", "2026-11-01", "2026-11-06")),
        ("last_month", ("2026-11-01", "2026-12-01", "2026-10-01", "2026-11-01")),
        ("ytd", ("2026-01-01", "2026-12-06", "2025-01-01", "2025-12-06")),
        ("7d", ("2026-11-29", "2026-12-06", "2026-11-22", "2026-11-29")),
    ],
)
def test_presets_cover_their_days_up_to_today_and_compare_with_the_period_before(
    db, preset, expected
):
    f = _filter(f"range={preset}&tz=UTC")

    assert _dates(f) == tuple(f"{day}T00:00:00+00:00" for day in expected)


def test_last_month_in_march_compares_with_all_of_february(db):
    f = _filter("range=month&tz=UTC", now=datetime(2026, 3, 31, 9, tzinfo=UTC))

    assert _dates(f)[2:] == ("2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")


def test_12m_cards_compare_with_the_twelve_months_before(make_click):
    make_click(datetime(2026, 6, 1, tzinfo=UTC))
    make_click(datetime(2026, 6, 2, tzinfo=UTC))
    make_click(datetime(2025, 6, 1, tzinfo=UTC))
    make_click(datetime(2025, 12, 20, tzinfo=UTC))  # a year before the future days: not counted

    summary = stats.summary(_filter("range=12m&tz=UTC"))
    series = stats.timeseries(_filter("range=12m&tz=UTC"))

    assert (summary["current"]["clicks"], summary["previous"]["clicks"]) == (2, 1)
    assert summary["change"]["clicks"] == 1.0
    assert [point["t"][:7] for point in series["current"]][::11] == ["2026-01", "2026-12"]
    assert len(series["current"]) == len(series["previous"]) == 12


@pytest.mark.parametrize(
    ("query", "before", "after"),
    [
        ("range=7d", ("2026-11-22", "2026-11-28"), None),
        ("range=yesterday", ("2026-12-03", "2026-12-03"), ("2026-12-05", "2026-12-05")),
        ("range=month", ("2026-11-01", "2026-11-30"), None),
        ("range=last_month", ("2026-10-01", "2026-10-31"), ("2026-12-01", "2026-12-05")),
        (
            "range=custom&from=2026-11-20&to=2026-11-29",
            ("2026-11-10", "2026-11-19"),
            ("2026-11-30", "2026-12-05"),
        ),
        ("range=custom&from=2000-01-01&to=2000-01-31", None, ("2000-02-01", "2000-02-29")),
    ],
)
def test_steps_give_the_periods_of_the_same_length_before_and_after(db, query, before, after):
    steps = _filter(f"{query}&tz=UTC").steps()

    def shown(step: dict | None) -> tuple[str, str] | None:
        return step and (step["from"], step["to"])

    assert shown(steps["previous"]) == before
    assert shown(steps["next"]) == after
    assert _filter("range=all").steps() == {"previous": None, "next": None}


def test_summary_answers_its_steps(db):
    steps = stats.summary(_filter("range=yesterday&tz=UTC"))["steps"]

    assert steps["previous"] == {"range": "custom", "from": "2026-12-03", "to": "2026-12-03"}


def test_the_chosen_bucket_is_used_and_kept_in_the_query_string(make_click):
    make_click(datetime(2026, 11, 29, 23, tzinfo=UTC))  # Sunday
    make_click(datetime(2026, 12, 1, 1, tzinfo=UTC))  # Tuesday

    f = _filter("range=30d&tz=UTC&bucket=week")
    series = stats.timeseries(f)

    assert (series["bucket"], series["buckets"]) == ("week", ["hour", "day", "week", "month"])
    assert [p["clicks"] for p in series["current"]][-3:] == [0, 1, 1]
    assert {datetime.fromisoformat(p["t"]).weekday() for p in series["current"]} == {0}
    assert ("bucket", "week") in f.params()
    assert _filter(f.querystring()) == f


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "range=90d&bucket=hour",
            "bucket=hour would draw too many points: use it for ranges up to 31 days",
        ),
        ("range=all&bucket=minute", "bucket must be one of hour, day, week, month, got “minute”."),
    ],
)
def test_buckets_that_would_draw_too_many_points_are_refused(db, query, message):
    with pytest.raises(FilterError, match=message):
        _filter(query)


def test_the_running_bucket_is_partial_and_later_ones_are_left_out(make_click):
    make_click(datetime(2026, 12, 5, 14, 30, tzinfo=UTC))

    series = stats.timeseries(_filter("range=today&tz=UTC"))

    # Midnight to 15:00: the 15th hour has begun and is still running.
    assert len(series["current"]) == 16
    assert series["current"][-1] == {
        "t": "2026-12-05T15:00:00+00:00",
        "clicks": 0,
        "unique": 0,
        "partial": True,
    }
    assert series["current"][-2]["clicks"] == 1
    assert not any(point.get("partial") for point in series["current"][:-1])
    assert not any(point.get("partial") for point in series["previous"])


def test_a_finished_period_has_no_partial_bucket(db):
    series = stats.timeseries(_filter("range=last_month&tz=UTC"))

    assert len(series["current"]) == 30
    assert not any(point.get("partial") for point in series["current"])


def test_old_zone_names_are_read_as_their_current_ones(db):
    assert _filter("tz=Asia/Calcutta").tz.key == "Asia/Kolkata"
    assert _filter("tz=Asia/Katmandu").tz.key == "Asia/Kathmandu"
    assert _filter("tz=US/Eastern").tz.key == "America/New_York"
    assert _filter("tz=Etc/UTC").tz.key == "UTC"


def test_the_picker_offers_current_names_with_their_offset():
    zones = picker_zones()
    offsets = {choice["name"]: choice["offset"] for choice in zone_choices(NOW)}

    assert {"Asia/Kolkata", "Asia/Kathmandu", "Europe/Kyiv", "UTC"} <= set(zones)
    assert not {"Asia/Calcutta", "Asia/Katmandu", "US/Eastern", "Etc/GMT+5"} & set(zones)
    assert (offsets["Asia/Kolkata"], offsets["America/St_Johns"]) == ("UTC+05:30", "UTC-03:30")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("country!=Narnia", "country must be a two-letter ISO 3166-1 code such as US or DE"),
        ("country=ZZ", "got “ZZ”."),
        ("campaign=424242", "campaign 424242 does not exist"),
        ("sender_campaign=424242", "sender_campaign 424242 does not exist"),
        ("campaign=123456789012345678901", r"campaign must be a campaign id \(a number\)"),
        ("range=custom&from=1900-01-01&to=2026-01-01", "from must be on or after 2000-01-01."),
        ("range=custom&from=2026-01-01&to=2999-12-31", "to must be on or before 2026-12-06"),
        ("device=", "^device must be one of desktop, mobile, other, tablet or empty for unknown"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(db, query, message):
    if query == "device=":
        assert _filter(query).include == {"device": ("",)}  # empty is "unknown": allowed
        query = "device=fridge"
    with pytest.raises(FilterError, match=message):
        _filter(query)


def test_known_values_pass(db):
    campaign = Campaign.objects.create(sender=Sender.DUB, external_id="x", name="X")

    f = _filter(
        f"country=XK&country=&campaign={campaign.canonical_id}&sender_campaign={campaign.pk}"
    )

    assert f.include["country"] == ("XK", "")


def test_messages_never_repeat_long_input_nor_python_quotes(db):
    with pytest.raises(FilterError) as refused:
        _filter("range=" + "x" * 6000)
    with pytest.raises(FilterError) as empty:
        _filter("range=custom&from=&to=2026-01-01")

    message = str(refused.value)
    assert len(message) < 200
    assert message.endswith("got “" + "x" * 59 + "…”.")
    assert str(empty.value) == "from must be a date as YYYY-MM-DD, got an empty value."
    assert "''" not in str(empty.value)


def test_a_very_long_zone_name_is_a_clear_error(db):
    with pytest.raises(FilterError, match="tz must be an IANA time zone"):
        _filter("tz=" + "Europe/" * 1000)


def test_campaign_sparklines_have_the_time_series_buckets(make_click):
    campaign = Campaign.objects.create(sender=Sender.DUB, external_id="s", name="Spring")
    make_click(datetime(2026, 12, 5, 9, 30, tzinfo=UTC), campaign=campaign)
    f = _filter("range=today&tz=UTC")

    (row,) = stats.campaigns(f)

    assert row["sparkline"] == [point["clicks"] for point in stats.timeseries(f)["current"]]
    assert len(row["sparkline"]) == 16
