import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Campaign

PAGES = ["/dashboard/", "/campaigns/", "/breakdown/country/"]


def _json_script(response, element_id: str) -> object:
    html = response.content.decode()
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_home_goes_to_the_dashboard(marketer_client):
    response = marketer_client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_anonymous_visitors_to_sign_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_pages_refuse_users_without_the_marketer_role(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))

    assert client.get(url).status_code == 403


def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_dashboard_passes_filter_state_as_json(marketer_client, make_click):
    campaign = Campaign.objects.create(sender="heyoo", external_id="c9", name="Launch <b>")
    make_click(timezone.now(), campaign=campaign)

    response = marketer_client.get(
        f"/dashboard/?range=7d&tz=Asia/Kolkata&country!=US&campaign={campaign.canonical_id}"
    )

    assert response.status_code == 200
    state = _json_script(response, "dashboard-state")
    assert state["range"] == "7d"
    assert state["tz"] == "Asia/Kolkata"
    assert state["filters"]["country"] == {"is": [], "not": ["US"]}
    assert state["labels"]["campaign"] == {str(campaign.canonical_id): "Launch <b> (Heyoo)"}
    assert b"Launch <b>" not in response.content  # escaped inside json_script
    config = _json_script(response, "dashboard-config")
    assert config["api"]["breakdown"] == "/api/stats/breakdown/__dimension__/"
    assert [d["key"] for d in config["dimensions"]][:4] == [
        "campaign",
        "country",
        "device",
        "referer",
    ]


def test_dashboard_explains_a_bad_filter_and_shows_the_default(marketer_client):
    response = marketer_client.get("/dashboard/?range=forever")

    assert response.status_code == 400
    assert b"range must be one of" in response.content
    assert _json_script(response, "dashboard-state")["range"] == "30d"


def test_breakdown_page_lists_every_value_with_a_filter_link(marketer_client, make_click):
    now = timezone.now()
    for country in ["US", "US", "DE", "CO"]:
        make_click(now - timedelta(hours=1), country=country)

    response = marketer_client.get("/breakdown/country/?range=24h")

    rows = response.context["rows"]
    assert [(r["label"], r["clicks"]) for r in rows] == [
        ("United States", 2),
        ("Colombia", 1),
        ("Germany", 1),
    ]
    assert rows[0]["filter_url"] == "/dashboard/?range=24h&tz=UTC&country=US"


def test_breakdown_page_of_unknown_dimension_is_404(marketer_client):
    assert marketer_client.get("/breakdown/shoe_size/").status_code == 404


def test_campaigns_page_lists_campaigns_with_totals(marketer_client, make_click):
    spring = Campaign.objects.create(sender="woodpecker", external_id="1", name="Spring")
    Campaign.objects.create(sender="opptima", external_id="2", name="Quiet")
    make_click(timezone.now() - timedelta(days=1), campaign=spring, sender="woodpecker")
    make_click(timezone.now() - timedelta(days=2), campaign=spring, sender="woodpecker")

    response = marketer_client.get("/campaigns/?range=7d")

    rows = {row["name"]: row for row in response.context["campaigns"]}
    assert (rows["Spring"]["clicks"], rows["Quiet"]["clicks"]) == (2, 0)
    assert sum(rows["Spring"]["sparkline"]) == 2
    assert rows["Spring"]["dashboard_url"] == (
        f"/dashboard/?range=7d&tz=UTC&campaign={spring.canonical_id}"
    )


@pytest.mark.parametrize("campaign_count", [3, 30])
def test_campaigns_page_query_count_does_not_grow_with_campaigns(
    marketer_client, make_click, django_assert_num_queries, campaign_count
):
    for number in range(campaign_count):
        campaign = Campaign.objects.create(sender="heyoo", external_id=str(number), name="C")
        make_click(timezone.now() - timedelta(hours=2), campaign=campaign)

    # Session, user, two for permissions, sender campaigns, last clicks, and clicks per campaign,
    # per sender campaign and sparklines, a rollup read each. A first view also reads and keeps
    # closed days (analytics.closed_counts): once for the sparklines, once for the two counts,
    # which read the same sender campaigns' rows.
    with django_assert_num_queries(9 + 2):
        assert marketer_client.get("/campaigns/").status_code == 200
    with django_assert_num_queries(9):
        assert marketer_client.get("/campaigns/").status_code == 200


def test_dashboard_export_buttons_carry_the_current_filters(marketer_client):
    response = marketer_client.get("/dashboard/?range=7d&country=US")

    html = response.content.decode()
    assert 'href="/export/clicks.csv?range=7d&amp;tz=UTC&amp;country=US"' in html
    assert 'href="/export/report.zip?range=7d&amp;tz=UTC&amp;country=US"' in html
