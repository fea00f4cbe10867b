"""The live view's API (/api/stats/live/) and page (/live/): clicks in the last 30 minutes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics import live
from analytics.models import Campaign, CanonicalCampaign, Sender

URL = "/api/stats/live/"


def test_counts_the_last_30_minutes_per_minute_and_in_total(
    marketer_client, make_click, monkeypatch
):
    now = timezone.now()
    # The clock held: a minute starting between the clicks and the request moves the window.
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    make_click(now - timedelta(minutes=31))  # before the window
    inside = [now - timedelta(seconds=s) for s in (5, 10, 600, 29 * 60)]
    for when in inside:
        make_click(when)

    body = marketer_client.get(URL).json()

    start = datetime.fromisoformat(body["start"])
    assert (start.second, start.microsecond) == (0, 0)
    assert datetime.fromisoformat(body["end"]) == start + timedelta(minutes=30)
    expected = [0] * 30
    for when in inside:
        expected[int((when - start).total_seconds() // 60)] += 1
    assert [point["clicks"] for point in body["minutes"]] == expected
    assert [datetime.fromisoformat(p["t"]) for p in body["minutes"]] == [
        start + timedelta(minutes=i) for i in range(30)
    ]
    assert body["total"] == 4


def test_lists_top_values_and_the_newest_clicks_with_labels(marketer_client, make_click):
    spring = Campaign.objects.create(sender=Sender.DUB, external_id="s", name="Spring Sale")
    now = timezone.now()
    newest = make_click(
        now - timedelta(minutes=1),
        country="US",
        device="mobile",
        campaign=spring,
        referer="(direct)",
    )
    make_click(now - timedelta(minutes=2), country="US", referer="google.com")
    make_click(now - timedelta(minutes=3), country="", referer="")
    make_click(now - timedelta(minutes=4), country="DE", is_bot=True)

    body = marketer_client.get(URL).json()

    assert body["countries"] == [
        {"value": "US", "label": "United States", "clicks": 2},
        {"value": "", "label": "Unknown", "clicks": 1},
    ]
    canonical = str(CanonicalCampaign.objects.get(campaigns=spring).pk)
    assert body["campaigns"] == [
        {"value": "", "label": "No campaign", "clicks": 2},
        {"value": canonical, "label": "Spring Sale", "clicks": 1},
    ]
    assert [(r["label"], r["clicks"]) for r in body["referers"]] == [
        ("Unknown", 1),
        ("Direct", 1),
        ("google.com", 1),
    ]  # equal counts in order of value: "", "(direct)", "google.com"
    assert len(body["latest"]) == 3  # the bot is left out
    first = body["latest"][0]
    assert first["id"] == newest.id
    assert (first["country_label"], first["device_label"], first["campaign_label"]) == (
        "United States",
        "Mobile",
        "Spring Sale",
    )
    assert (first["referer"], first["referer_label"]) == ("(direct)", "Direct")


def test_bots_are_counted_only_when_asked(marketer_client, make_click):
    make_click(timezone.now() - timedelta(minutes=1), is_bot=True)
    make_click(timezone.now() - timedelta(minutes=1))

    assert marketer_client.get(URL).json()["total"] == 1
    assert marketer_client.get(f"{URL}?bots=include").json()["total"] == 2
    bad = marketer_client.get(f"{URL}?bots=maybe")
    assert bad.status_code == 400
    assert bad.json() == {"detail": "bots must be exclude or include, got 'maybe'."}


def test_window_is_the_current_minute_and_the_29_before():
    start, end = live.window(datetime(2026, 12, 5, 10, 42, 17, tzinfo=UTC))

    assert (start, end) == (
        datetime(2026, 12, 5, 10, 13, tzinfo=UTC),
        datetime(2026, 12, 5, 10, 43, tzinfo=UTC),
    )


def test_needs_the_marketer_permission(client, django_user_model, db):
    assert Client().get(URL).status_code == 401
    client.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))
    assert client.get(URL).status_code == 403
    assert client.get("/live/").status_code == 403
    assert Client().get("/live/").url.startswith("/accounts/login/")


@pytest.mark.parametrize("clicks", [1, 40])
def test_reads_one_query_per_series_whatever_the_clicks(
    marketer_client, make_click, django_assert_num_queries, clicks
):
    now = timezone.now()
    for n in range(clicks):
        campaign = Campaign.objects.create(sender=Sender.DUB, external_id=f"c{n}", name=f"C{n}")
        make_click(now - timedelta(seconds=20 * n), country="US", campaign=campaign)
    marketer_client.get(URL)  # the session and user are read once per request: 2 queries

    # session, user, permissions (user, group), then 5 series: minutes, countries, campaigns,
    # referers, latest clicks.
    with django_assert_num_queries(9):
        response = marketer_client.get(URL)

    assert response.json()["total"] == clicks


def test_page_loads_its_settings_and_script(marketer_client):
    response = marketer_client.get("/live/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<script id="live-config" type="application/json">' in html
    assert "analytics/live.js" in html
    assert " style=" not in html
