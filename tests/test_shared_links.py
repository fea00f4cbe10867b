"""Shared links: every route the shared dashboard uses, for anyone holding the link, and nothing
beyond the saved view's aggregates: not another campaign, not a click, an e-mail or an IP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Contact, SavedView, SharedLink
from analytics.share_views import SHARED_BREAKDOWNS

ROUTES = ["", "api/page/", "api/summary/", "api/timeseries/"] + [
    f"api/breakdown/{dimension}/" for dimension in SHARED_BREAKDOWNS
]
API_ROUTES = [route for route in ROUTES if route]
SECRET_EMAIL = "ceo@acme.example"
SECRET_IP = "203.0.113.77"
SECRET_URL = "https://acme.example/offer?email=ceo@acme.example&token=abc123"


@pytest.fixture
def acme(make_click, make_campaign, marketer):
    """ACME's view (its campaign) and another client's campaign, both with clicks."""
    ours, theirs = make_campaign("ACME spring"), make_campaign("Globex launch")
    contact = Contact.objects.create(sender="dub", email=SECRET_EMAIL, name="Cee Eo")
    now = timezone.now()
    for hours in (1, 2, 3):
        make_click(
            now - timedelta(hours=hours),
            campaign=ours,
            country="DE",
            ip=SECRET_IP,
            recipient=contact,
            url=SECRET_URL,
        )
    for hours in (1, 2, 3, 4, 5):
        make_click(now - timedelta(hours=hours), campaign=theirs, country="US")
    view = SavedView.objects.create(
        name="ACME", owner=marketer, query=f"range=30d&tz=UTC&campaign={ours.canonical_id}"
    )
    return {"view": view, "ours": ours, "theirs": theirs}


@pytest.fixture
def link(acme):
    return SharedLink.objects.create(label="ACME monthly review", saved_view=acme["view"])


def _url(link: SharedLink, route: str = "") -> str:
    return f"/s/{link.token}/{route}"


@pytest.mark.parametrize("route", ROUTES)
def test_shared_link_answers_every_route_without_signing_in(client, link, route):
    response = client.get(_url(link, route))

    assert response.status_code == 200


@pytest.mark.parametrize("route", ROUTES)
def test_unknown_token_answers_404_on_every_route(client, link, route):
    response = client.get(f"/s/not-a-token/{route}")

    assert response.status_code == 404


def _revoke(link: SharedLink) -> None:
    link.revoke()


def _expire(link: SharedLink) -> None:
    link.expires_at = timezone.now() - timedelta(minutes=1)
    link.save()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("end", "word"), [(_revoke, b"revoked"), (_expire, b"expired")])
def test_revoked_or_expired_link_answers_410_on_every_route(client, link, route, end, word):
    end(link)

    response = client.get(_url(link, route))

    assert response.status_code == 410
    assert word in response.content


@pytest.mark.parametrize("route", API_ROUTES)
def test_password_protected_link_refuses_the_api_without_the_password(client, link, route):
    link.set_password("open sesame")
    link.save()

    response = client.get(_url(link, route))

    assert response.status_code == 403
    assert "password" in response.json()["detail"]


def test_password_protected_link_shows_the_form_and_no_numbers(client, link):
    link.set_password("open sesame")
    link.save()

    response = client.get(_url(link))

    assert response.status_code == 200
    assert b'name="password"' in response.content
    assert b"dashboard-config" not in response.content


def test_right_password_opens_every_route(client, link):
    link.set_password("open sesame")
    link.save()

    response = client.post(_url(link), {"password": "open sesame"})

    assert response.status_code == 302
    assert all(client.get(_url(link, route)).status_code == 200 for route in ROUTES)


def test_wrong_password_is_refused_with_a_message(client, link):
    link.set_password("open sesame")
    link.save()

    response = client.post(_url(link), {"password": "guess"})

    assert response.status_code == 403
    assert "not right" in response.content.decode()
    assert client.get(_url(link, "api/summary/")).status_code == 403


def test_changing_the_password_locks_out_earlier_visitors(client, link):
    link.set_password("open sesame")
    link.save()
    client.post(_url(link), {"password": "open sesame"})

    link.set_password("new secret")
    link.save()

    assert client.get(_url(link, "api/summary/")).status_code == 403


def test_password_guesses_are_limited(client, link, settings):
    settings.SHARE_PASSWORD_ATTEMPTS = 3
    link.set_password("open sesame")
    link.save()
    for _ in range(3):
        client.post(_url(link), {"password": "guess"})

    response = client.post(_url(link), {"password": "open sesame"})

    assert response.status_code == 429
    assert "Too many wrong passwords" in response.content.decode()


def test_rate_limit_answers_429_with_retry_after(client, link, settings, monkeypatch):
    settings.SHARE_RATE_LIMIT_PER_MINUTE = 3
    # One moment for every request: the limit counts per clock minute, and a minute boundary
    # between the requests would start a new count.
    moment = timezone.now().replace(second=30)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    for _ in range(3):
        assert client.get(_url(link, "api/summary/")).status_code == 200

    response = client.get(_url(link, "api/summary/"))

    assert response.status_code == 429
    assert response["Retry-After"] == "30"  # the rest of the minute
    assert "Too many requests" in response.json()["detail"]


def test_shared_numbers_are_the_saved_views_only(client, link, acme):
    summary = client.get(_url(link, "api/summary/")).json()
    campaigns = client.get(_url(link, "api/breakdown/campaign/")).json()
    countries = client.get(_url(link, "api/breakdown/country/")).json()

    assert summary["current"]["clicks"] == 3
    assert [row["value"] for row in campaigns["rows"]] == [str(acme["ours"].canonical_id)]
    assert [(row["value"], row["clicks"]) for row in countries["rows"]] == [("DE", 3)]


def test_shared_page_answers_the_saved_views_numbers_in_one_call(client, link, acme):
    page = client.get(_url(link, "api/page/") + "?breakdowns=campaign,country:1000").json()

    assert page["summary"]["current"]["clicks"] == 3
    assert page["timeseries"]["current"]
    campaigns, countries = page["breakdowns"]
    assert [row["value"] for row in campaigns["rows"]] == [str(acme["ours"].canonical_id)]
    assert [(row["value"], row["clicks"]) for row in countries["rows"]] == [("DE", 3)]


@pytest.mark.parametrize("dimension", ["link", "url"])
def test_shared_page_refuses_the_link_and_url_breakdowns(client, link, dimension):
    response = client.get(_url(link, "api/page/") + f"?breakdowns=country,{dimension}")

    assert response.status_code == 400
    assert f"unknown dimension “{dimension}”" in response.json()["detail"]
    assert "utm_medium, each" in response.json()["detail"]  # the shared list, without link


@pytest.mark.parametrize("route", API_ROUTES)
@pytest.mark.parametrize(
    "widening",
    ["campaign={theirs}", "campaign!={ours}", "sender_campaign={theirs_raw}", "country=US"],
)
def test_visitor_cannot_change_the_views_filters(client, link, acme, route, widening):
    query = widening.format(
        theirs=acme["theirs"].canonical_id,
        ours=acme["ours"].canonical_id,
        theirs_raw=acme["theirs"].pk,
    )

    response = client.get(f"{_url(link, route)}?{query}")

    assert response.status_code == 400
    assert "filters are fixed" in response.json()["detail"]


def test_visitor_may_change_the_period_zone_bots_and_buckets(client, link):
    response = client.get(
        _url(link, "api/timeseries/") + "?range=7d&tz=Europe/Berlin&bots=include&bucket=day"
    )

    assert response.status_code == 200
    assert (response.json()["tz"], response.json()["bucket"]) == ("Europe/Berlin", "day")


@pytest.mark.parametrize("dimension", ["link", "url"])
def test_link_and_url_breakdowns_are_not_shared(client, link, dimension):
    response = client.get(_url(link, f"api/breakdown/{dimension}/"))

    assert response.status_code == 404


@pytest.mark.parametrize("path", ["api/clicks/", "api/campaigns/", "export/clicks.csv"])
def test_no_raw_clicks_or_campaign_lists_under_a_shared_link(client, link, path):
    assert client.get(_url(link, path)).status_code == 404


def test_no_route_shows_emails_ips_urls_or_other_campaigns(client, link, acme):
    bodies = [client.get(_url(link, route)).content.decode() for route in ROUTES]
    bodies += [
        client.get(_url(link, route) + "?range=all&bots=include").content.decode()
        for route in API_ROUTES
    ]

    text = "\n".join(bodies)
    for secret in (SECRET_EMAIL, SECRET_IP, "acme.example", "Globex", "Cee Eo"):
        assert secret not in text


def test_shared_responses_are_private(client, link):
    for route in ROUTES:
        response = client.get(_url(link, route))

        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert "no-store" in response["Cache-Control"]


def test_shared_page_notes_the_visit(client, link):
    client.get(_url(link))

    link.refresh_from_db()
    assert link.last_viewed_at is not None


def test_link_without_a_view_shares_every_campaign(client, acme):
    link = SharedLink.objects.create(label="Board")

    response = client.get(_url(link, "api/summary/"))

    assert response.json()["current"]["clicks"] == 8


def test_bad_period_on_the_shared_page_shows_a_banner(client, link):
    response = client.get(_url(link) + "?range=forever")

    assert response.status_code == 400
    assert "range must be one of" in response.content.decode()


def test_breakdown_limit_is_checked_as_the_api_checks_it(client, link):
    response = client.get(_url(link, "api/breakdown/country/") + "?limit=0")

    assert response.status_code == 400
    assert response.json()["detail"] == "limit must be a whole number from 1 to 1000."
