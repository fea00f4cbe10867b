"""Answers kept for closed days (analytics/closed_counts.py): used while the rollup version
token they were read at stands, and never once a change to a closed day's counts retired it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import closed_counts, rollup_reads, rollups, stats
from analytics.filters import ClickFilter
from analytics.models import Campaign, CanonicalCampaign, Click, Rollup, RollupVersion
from analytics.rollups import Grain

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _filter(**params: str) -> ClickFilter:
    query = QueryDict(mutable=True)
    query.update({"range": "30d", "tz": "Asia/Kolkata", **params})
    return ClickFilter.from_query(query)


def _clicks(f: ClickFilter, group: str = "country") -> dict[object, int]:
    return {row.value: row.clicks for row in rollup_reads.counts(f, [f.start, f.end], group=group)}


def _token() -> object:
    return RollupVersion.objects.get().token


def _statements(f: ClickFilter, group: str = "country") -> int:
    with CaptureQueriesContext(connection) as queries:
        _clicks(f, group)
    return len(queries)


@pytest.fixture
def past_days(make_click):
    """Clicks a week and two weeks ago, in the rollups; the answers over them not yet kept."""
    now = timezone.now()
    for country, days in (("US", 7), ("US", 14), ("DE", 7)):
        make_click(now - days * DAY, country=country)
    rollups.update()
    return now


def test_a_read_over_closed_days_keeps_them_and_the_next_reads_once(past_days):
    f = _filter()

    assert _statements(f) == 2  # the closed days' rows read and kept, then the answer
    assert _statements(f) == 1
    assert _clicks(f) == {"US": 2, "DE": 1}


def test_a_late_click_of_a_closed_day_is_counted_at_once(past_days, make_click):
    f = _filter()
    assert _clicks(f) == {"US": 2, "DE": 1}
    token = _token()

    make_click(past_days - 10 * DAY, country="DE")  # a late delivery, pending
    assert _clicks(f) == {"US": 2, "DE": 2}  # counted live while pending
    rollups.update()

    assert _token() != token
    assert _clicks(f) == {"US": 2, "DE": 2}


def test_a_click_of_today_leaves_the_kept_answers_standing(past_days, make_click):
    f = _filter()
    _clicks(f)
    token = _token()

    make_click(timezone.now(), country="DE")
    rollups.update()

    assert _token() == token
    assert _statements(f) == 1
    assert _clicks(f) == {"US": 2, "DE": 2}


def test_a_rebuild_retires_the_kept_answers(past_days):
    _clicks(_filter())
    token = _token()

    rollups.rebuild()

    assert _token() != token


def test_kept_rows_are_not_used_once_their_token_is_retired(past_days):
    f = _filter()
    assert _clicks(f) == {"US": 2, "DE": 1}
    # A closed day's counts change behind the cache's back, with the token changed as every
    # writer does: the statement itself reads the rollup rows instead of the kept ones.
    day = rollups.period_start(past_days - 20 * DAY, Grain.DAY)
    Rollup.objects.create(
        dims=rollups.dims_key(("country",)), grain=Grain.DAY, period=day, country="FR",
        is_bot=False, clicks=5, uniques=5, qr=0,
    )  # fmt: skip
    with connection.cursor() as cursor:
        rollups.change_version(cursor)

    assert _clicks(f) == {"US": 2, "DE": 1, "FR": 5}
    # The statement saw another token: what was kept is read again next time.
    assert _statements(f) == 2


def test_moving_a_sender_campaign_retires_the_answers_filtered_by_campaign(make_click):
    now = timezone.now()
    spring = Campaign.objects.create(sender="dub", external_id="spring", name="Spring")
    autumn = Campaign.objects.create(sender="dub", external_id="autumn", name="Autumn")
    make_click(now - 7 * DAY, campaign=spring, country="US")
    make_click(now - 7 * DAY, campaign=autumn, country="US")
    rollups.update()
    f = _filter(campaign=str(spring.canonical_id))
    assert _clicks(f) == {"US": 1}
    token = _token()

    # The database trigger changes the token whichever path moves a campaign.
    Campaign.objects.filter(pk=autumn.pk).update(canonical=spring.canonical)

    assert _token() != token
    assert _clicks(f) == {"US": 2}
    assert CanonicalCampaign.objects.filter(pk=spring.canonical_id).exists()


def test_a_closed_days_raw_edge_keeps_counted_clicks_and_reads_pending_ones_live(make_click):
    # Asia/Kolkata days start at 18:30 UTC: a city breakdown (days and months only) reads the
    # clicks from there to the next UTC midnight, and keeps those the worker has counted.
    f = _filter()
    edge = f.start + timedelta(hours=2)
    make_click(edge, city="Pune")
    rollups.update()
    make_click(edge + timedelta(minutes=5), city="Pune")  # a late delivery, pending

    assert _clicks(f, "city") == {"Pune": 2}  # read and kept
    assert _clicks(f, "city") == {"Pune": 2}  # kept, and the pending one live
    rollups.update()
    assert _clicks(f, "city") == {"Pune": 2}
    assert _statements(f, "city") == 2  # the worker's change retired what was kept


def test_deleting_old_clicks_retires_the_kept_answers(past_days):
    from analytics.management.commands.apply_retention import _delete_in_batches

    f = _filter()
    assert _clicks(f) == {"US": 2, "DE": 1}
    token = _token()

    _delete_in_batches(Click.objects.filter(occurred_at__lt=past_days - 10 * DAY))

    assert _token() != token
    rollups.rebuild()  # as apply_retention does after its last batch
    assert _clicks(f) == {"US": 1, "DE": 1}


def test_no_answers_are_kept_when_reading_the_clicks_alone(past_days, settings):
    settings.STATS_USE_ROLLUPS = False
    f = _filter()

    assert _statements(f) == 1
    assert _statements(f) == 1


@pytest.mark.parametrize(
    ("params", "group", "bucket"),
    [
        ({}, "city", None),
        ({"country": "US"}, "referer", None),
        ({"device": "mobile"}, None, "day"),
        ({"range": "12m"}, "campaign", None),
        ({"range": "12m", "bots": "include"}, None, "week"),
    ],
)
def test_answers_are_the_same_kept_or_not(make_click, settings, params, group, bucket):
    now = timezone.now()
    for days in range(0, 300, 9):
        make_click(
            now - days * DAY - timedelta(hours=days % 24),
            country=("US", "DE")[days % 2], city=f"City {days % 5}", device="mobile",
            referer=("google.com", "(direct)")[days % 2], is_bot=days % 7 == 0,
        )  # fmt: skip
    rollups.update()
    f = _filter(**params)

    def read() -> list:
        rows = rollup_reads.counts(f, [f.start, f.end], group=group, bucket=bucket)
        return sorted(rows, key=repr)

    settings.STATS_CLOSED_COUNTS_KEPT = 0
    alone = read()
    settings.STATS_CLOSED_COUNTS_KEPT = 2000

    assert read() == alone  # read and kept
    assert read() == alone  # from what was kept


def test_no_answers_are_kept_when_configured_off(past_days, settings):
    settings.STATS_CLOSED_COUNTS_KEPT = 0
    f = _filter()

    assert _statements(f) == 1
    assert _statements(f) == 1


def test_a_page_agrees_with_its_endpoints_when_kept(past_days):
    f = _filter()
    first = stats.page(f, [("country", 10)])

    assert stats.page(f, [("country", 10)]) == first
    assert stats.summary(f)["current"]["clicks"] == 3


@pytest.mark.parametrize(
    ("now", "closed"),
    [
        (datetime(2026, 3, 10, 0, 30, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)),
        (datetime(2026, 3, 10, 1, 30, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)),
    ],
)
def test_closed_before_keeps_the_last_day_open_for_an_hour(now, closed):
    assert closed_counts.closed_before(now) == closed


def test_split_cuts_each_grain_on_its_own_boundary(settings):
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    march, april = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    periods = {
        Grain.MONTH: [(feb, april)],
        Grain.DAY: [(datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))],
    }

    closed, live = closed_counts.split(periods, now)

    assert closed == {
        Grain.MONTH: [(feb, march)],  # March has not ended: its month row is read live
        Grain.DAY: [(datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))],
    }
    assert live == {
        Grain.MONTH: [(march, april)],
        Grain.DAY: [(datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))],
    }


def test_split_keeps_raw_edges_only_where_a_local_day_or_hour_starts(settings):
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    day_edge = (datetime(2026, 3, 8, 18, 30, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))
    rolling = (datetime(2026, 3, 8, 11, 58, 7, tzinfo=UTC), datetime(2026, 3, 8, 12, tzinfo=UTC))

    days = [(datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))]

    closed, live = closed_counts.split({Grain.DAY: days, None: [rolling, day_edge]}, now)

    assert closed == {Grain.DAY: days, None: [day_edge]}
    assert live == {None: [rolling]}  # "last 24 hours" starts anew every time: read live


def test_split_keeps_nothing_of_less_than_a_closed_day(settings):
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    quarters = {Grain.QUARTER: [(datetime(2026, 3, 9, 12, tzinfo=UTC), now)]}

    assert closed_counts.split(quarters, now) == ({}, quarters)
