import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from analytics.exports import CLICK_COLUMNS
from analytics.models import Campaign, Click, Contact, Sender, WebhookEndpoint

OCTOBER = "range=custom&from=2026-10-01&to=2026-10-31"
NOON = datetime(2026, 10, 15, 12, tzinfo=UTC)


def walk(client, url: str, link: str = "next") -> list[list[int]]:
    """The ids of every page, following ``link`` from ``url``."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([row["id"] for row in body["results"]])
        url = body[link]
    return pages


def test_cursor_pages_are_complete_and_stable_when_clicks_share_a_time(marketer_client, make_click):
    tied = [make_click(NOON, country="CO").id for _ in range(7)]
    newer = make_click(NOON + timedelta(hours=1)).id
    older = [make_click(NOON - timedelta(days=d)).id for d in (1, 2)]
    expected = [newer, *sorted(tied, reverse=True), *older]  # occurred_at, then id, descending

    pages = walk(marketer_client, f"/api/clicks/?{OCTOBER}&page_size=3")

    assert [len(page) for page in pages] == [3, 3, 3, 1]
    assert [click for page in pages for click in page] == expected

    # Back from the last page, the previous links give the same pages.
    last = marketer_client.get(f"/api/clicks/?{OCTOBER}&page_size=3")
    for _ in range(3):
        last = marketer_client.get(last.json()["next"])
    assert walk(marketer_client, last.json()["previous"], "previous") == pages[-2::-1]


def test_a_new_click_does_not_shift_the_next_page(marketer_client, make_click):
    ids = [make_click(NOON - timedelta(minutes=m)).id for m in range(4)]
    first = marketer_client.get(f"/api/clicks/?{OCTOBER}&page_size=2").json()

    make_click(NOON + timedelta(minutes=1))
    second = marketer_client.get(first["next"]).json()

    assert [row["id"] for row in first["results"] + second["results"]] == ids
    assert second["next"] is None


def test_more_ties_than_drf_offset_cutoff_are_paged_completely(marketer_client, db):
    endpoint = WebhookEndpoint.objects.create(sender=Sender.DUB, name="bulk")
    Click.objects.bulk_create(
        Click(sender=Sender.DUB, click_key=f"k{i}", endpoint=endpoint, occurred_at=NOON)
        for i in range(1205)
    )

    pages = walk(marketer_client, f"/api/clicks/?{OCTOBER}&page_size=400")

    ids = [click for page in pages for click in page]
    assert len(ids) == len(set(ids)) == 1205
    assert ids == sorted(ids, reverse=True)


def test_page_size_is_capped_at_1000(marketer_client, db):
    endpoint = WebhookEndpoint.objects.create(sender=Sender.DUB, name="bulk")
    Click.objects.bulk_create(
        Click(sender=Sender.DUB, click_key=f"k{i}", endpoint=endpoint, occurred_at=NOON)
        for i in range(1001)
    )

    default = marketer_client.get(f"/api/clicks/?{OCTOBER}").json()
    capped = marketer_client.get(f"/api/clicks/?{OCTOBER}&page_size=5000").json()

    assert len(default["results"]) == 100
    assert len(capped["results"]) == 1000
    assert capped["next"]


def test_clicks_have_the_export_columns(marketer_client, make_click):
    campaign = Campaign.objects.create(sender=Sender.HEYOO, external_id="cmp_1", name="Launch")
    sharer = Contact.objects.create(sender=Sender.HEYOO, email="sam@example.com")
    make_click(
        NOON + timedelta(microseconds=5),
        sender=Sender.HEYOO,
        campaign=campaign,
        sharer=sharer,
        city="=1+1",
        longitude=-74.0,
    )

    (row,) = marketer_client.get(f"/api/clicks/?{OCTOBER}").json()["results"]

    assert list(row) == CLICK_COLUMNS
    assert row["occurred_at"] == "2026-10-15T12:00:00.000005Z"
    assert (row["campaign"], row["campaign_external_id"]) == ("Launch", "cmp_1")
    assert (row["canonical_campaign_id"], row["canonical_campaign"]) == (
        campaign.canonical_id,
        "Launch",
    )
    assert (row["sharer_email"], row["recipient_email"]) == ("sam@example.com", None)
    assert (row["city"], row["longitude"], row["latitude"]) == ("=1+1", -74.0, None)
    assert (row["sender"], row["is_unique"]) == ("heyoo", True)


def test_clicks_api_applies_the_dashboard_filters(marketer_client, make_click):
    make_click(NOON, country="CO", device="mobile")
    make_click(NOON, country="US", device="mobile")
    make_click(NOON, country="", device="desktop")
    make_click(NOON, country="CO", is_bot=True)
    make_click(datetime(2026, 11, 1, 1, tzinfo=UTC), country="CO")  # Oct 31 in Bogotá

    def countries(query: str) -> list[str]:
        body = marketer_client.get(f"/api/clicks/?{OCTOBER}&{query}").json()
        return sorted(row["country"] for row in body["results"])

    assert countries("country=CO") == ["CO"]
    assert countries("country=CO&bots=include") == ["CO", "CO"]
    assert countries("country=CO&tz=America/Bogota") == ["CO", "CO"]
    assert countries("country!=US") == ["", "CO"]
    assert countries("country=") == [""]
    assert countries("device=mobile&country!=CO") == ["US"]


def test_a_page_costs_the_same_queries_for_2_rows_as_for_40(
    marketer, client, make_click, django_assert_num_queries
):
    token = Token.objects.create(user=marketer)
    headers = {"Authorization": f"Token {token.key}"}
    campaign = Campaign.objects.create(sender=Sender.WOODPECKER, external_id="w1", name="Out")
    recipient = Contact.objects.create(sender=Sender.WOODPECKER, email="r@example.com")
    sharer = Contact.objects.create(sender=Sender.WOODPECKER, email="s@example.com")

    def add(count: int) -> None:
        for _ in range(count):
            make_click(
                NOON,
                sender=Sender.WOODPECKER,
                campaign=campaign,
                recipient=recipient,
                sharer=sharer,
            )

    add(2)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(f"/api/clicks/?{OCTOBER}", headers=headers).json()["results"]) == 2
    add(38)
    # Token, user permissions, group permissions, the page: nothing per row.
    with django_assert_num_queries(len(few)):
        body = client.get(f"/api/clicks/?{OCTOBER}", headers=headers).json()

    assert len(few) == 4
    assert len(body["results"]) == 40
    assert {row["recipient_email"] for row in body["results"]} == {"r@example.com"}


API_URLS = ["/api/clicks/", "/api/campaigns/"]


@pytest.mark.parametrize("url", API_URLS)
def test_list_apis_refuse_anonymous_requests(client, db, url):
    response = client.get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("url", API_URLS)
def test_list_apis_refuse_users_without_the_marketer_role(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", API_URLS)
def test_list_apis_explain_a_bad_filter(marketer_client, url):
    response = marketer_client.get(f"{url}?range=custom&from=2026-10-31&to=2026-10-01")

    assert response.status_code == 400
    assert response.json() == {"detail": "to must be on or after from."}


@pytest.mark.parametrize(
    "position", ["garbage", "2026-10-15T12:00:00+00:00", "2026-10-15T12:00:00|7", "x|7"]
)
def test_clicks_api_rejects_a_forged_cursor(marketer_client, position):
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()

    response = marketer_client.get("/api/clicks/", {"cursor": cursor})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


def test_campaigns_api_counts_the_period(marketer_client, make_click):
    launch = Campaign.objects.create(sender=Sender.HEYOO, external_id="c1", name="Launch")
    quiet = Campaign.objects.create(sender=Sender.HEYOO, external_id="c2")
    make_click(NOON, sender=Sender.HEYOO, campaign=launch)
    make_click(NOON, sender=Sender.HEYOO, campaign=launch, is_unique=False)
    make_click(NOON, sender=Sender.HEYOO, campaign=launch, is_bot=True)
    make_click(datetime(2026, 9, 20, tzinfo=UTC), sender=Sender.HEYOO, campaign=quiet)

    body = marketer_client.get(f"/api/campaigns/?{OCTOBER}&page_size=1").json()

    assert body["count"] == 2
    (row,) = body["results"]
    assert {
        key: row[key] for key in ("id", "name", "automatic", "senders", "clicks", "unique")
    } == {
        "id": launch.canonical_id,
        "name": "Launch",
        "automatic": True,
        "senders": ["heyoo"],
        "clicks": 2,
        "unique": 1,
    }
    assert row["sender_campaigns"] == [
        {
            "id": launch.id,
            "name": "Launch",
            "external_id": "c1",
            "sender": "heyoo",
            "sender_label": "Heyoo",
            "clicks": 2,
            "unique": 1,
            "last_click": "2026-10-15T12:00:00Z",
        }
    ]
    assert row["last_click"] == "2026-10-15T12:00:00Z"
    assert len(row["sparkline"]) == 31
    second = marketer_client.get(body["next"]).json()["results"]
    assert [(r["name"], r["clicks"]) for r in second] == [("c2", 0)]
