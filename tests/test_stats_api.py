from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

API_URLS = [
    "/api/stats/page/",
    "/api/stats/summary/",
    "/api/stats/timeseries/",
    "/api/stats/breakdown/country/",
]


@pytest.mark.parametrize("url", API_URLS)
def test_stats_api_refuses_anonymous_requests(client, db, url):
    response = client.get(url)

    assert response.status_code == 401


@pytest.mark.parametrize("url", API_URLS)
def test_stats_api_refuses_users_without_the_marketer_role(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))

    response = client.get(url)

    assert response.status_code == 403


def test_stats_api_accepts_a_token(client, marketer, make_click):
    make_click(timezone.now() - timedelta(hours=1), country="CO")
    token = Token.objects.create(user=marketer)

    response = client.get(
        "/api/stats/breakdown/country/?range=24h",
        headers={"Authorization": f"Token {token.key}"},
    )

    assert response.status_code == 200
    assert response.json()["rows"] == [
        {"value": "CO", "label": "Colombia", "clicks": 1, "unique": 1, "share": 1.0}
    ]


def test_timeseries_api_returns_buckets_in_the_requested_zone(marketer_client, make_click):
    make_click(timezone.now() - timedelta(minutes=5))

    response = marketer_client.get("/api/stats/timeseries/?range=24h&tz=Asia/Kolkata")

    body = response.json()
    assert response.status_code == 200
    assert body["bucket"] == "hour"
    assert body["tz"] == "Asia/Kolkata"
    assert all(point["t"].endswith("+05:30") for point in body["current"])
    assert sum(point["clicks"] for point in body["current"]) == 1
    assert len(body["previous"]) == len(body["current"])


def test_summary_api_applies_filters(marketer_client, make_click):
    now = timezone.now()
    make_click(now - timedelta(hours=2), country="US")
    make_click(now - timedelta(hours=3), country="DE")
    make_click(now - timedelta(hours=3), country="DE", is_bot=True)

    response = marketer_client.get("/api/stats/summary/?range=24h&country!=US")

    assert response.json()["current"] == {
        "clicks": 1,
        "unique": 1,
        "bots": 1,
        "qr": 0,
        "qr_share": 0.0,
    }


def test_stats_api_explains_a_bad_filter(marketer_client):
    response = marketer_client.get("/api/stats/summary/?range=forever")

    assert response.status_code == 400
    assert "range must be one of" in response.json()["detail"]


def test_breakdown_api_rejects_unknown_dimension(marketer_client):
    response = marketer_client.get("/api/stats/breakdown/shoe_size/")

    assert response.status_code == 404
    assert "country" in response.json()["detail"]


def test_breakdown_api_rejects_bad_limit(marketer_client):
    response = marketer_client.get("/api/stats/breakdown/country/?limit=0")

    assert response.status_code == 400
