"""Strings from webhook payloads are shown escaped everywhere a person or a program reads them.

Real deliveries (signed, through the webhook endpoint) carry markup in a city, quotes in a
referer and an <img onerror> as a campaign name; every page, admin view, API and export must
show them as text: HTML-escaped in pages, \\u003C-escaped in json_script blocks, the literal
string in JSON, and neutralized as a formula in CSV.
"""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics.models import Click, Delivery
from tests.conftest import assert_failed_in_processing, js_json, outcome, payload, post_webhook

XSS_CITY = '<script>alert("x")</script>'
QUOTED_REFERER = '"quoted" host'
XSS_CAMPAIGN = "<img src=x onerror=alert(1)>"
FORMULA_CITY = '=HYPERLINK("http://x")'

RAW_MARKUP = ("<script>alert", "<img src=x", '"quoted" host')


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The user fixtures set passwords; PBKDF2 would spend most of this module's time on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hostile(db, heyoo_endpoint, dub_endpoint) -> dict:
    """A Heyoo click with markup everywhere, and a Dub click whose city is a formula."""
    sender = Client()
    recent = (timezone.now() - timedelta(hours=1)).isoformat()

    heyoo = payload("heyoo/campaign_clicked")
    heyoo["data"]["click"].update(
        timestamp=recent, city=XSS_CITY, referer=QUOTED_REFERER, refererUrl=""
    )
    heyoo["data"]["campaign"]["name"] = XSS_CAMPAIGN
    response = post_webhook(sender, heyoo_endpoint, js_json(heyoo))
    assert response.status_code == 200, response.content
    assert outcome(response)["clicks_created"] == 1

    dub = payload("dub/link_clicked_real")
    dub["data"]["click"].update(timestamp=recent, city=FORMULA_CITY)
    response = post_webhook(sender, dub_endpoint, js_json(dub))
    assert response.status_code == 200, response.content
    assert outcome(response)["clicks_created"] == 1

    click = Click.objects.get(city=XSS_CITY)
    # Stored as sent: escaping is the job of whatever shows it.
    assert click.referer == QUOTED_REFERER
    assert click.campaign.name == XSS_CAMPAIGN
    return {
        "click": click,
        "campaign": click.campaign,
        "delivery": click.delivery,
        "formula_click": Click.objects.get(city=FORMULA_CITY),
    }


def assert_no_raw_markup(html: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in html, f"unescaped {raw!r} in the page"


def json_scripts(html: str) -> dict[str, str]:
    """The text of each <script type="application/json"> block, by id."""
    return dict(
        re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, re.S)
    )


# --- marketer pages ------------------------------------------------------------------------


def test_dashboard_json_script_blocks_escape_filter_values_and_labels(marketer_client, hostile):
    campaign = hostile["campaign"]
    response = marketer_client.get(
        "/dashboard/",
        {"city": XSS_CITY, "referer": QUOTED_REFERER, "campaign": str(campaign.canonical_id)},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert_no_raw_markup(html)
    blocks = json_scripts(html)
    state_text = blocks["dashboard-state"]
    assert "\\u003Cscript\\u003Ealert" in state_text
    assert "\\u003Cimg src=x onerror=alert(1)\\u003E" in state_text
    state = json.loads(state_text)
    assert state["filters"]["city"]["is"] == [XSS_CITY]
    assert state["filters"]["referer"]["is"] == [QUOTED_REFERER]
    # Campaign labels name the sender too: "<name> (Heyoo)".
    assert state["labels"]["campaign"][str(campaign.canonical_id)].startswith(XSS_CAMPAIGN)


@pytest.mark.parametrize(
    ("dimension", "escaped"),
    [
        ("city", "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
        ("referer", "&quot;quoted&quot; host"),
        ("campaign", "&lt;img src=x onerror=alert(1)&gt;"),
    ],
)
def test_breakdown_page_escapes_values(marketer_client, hostile, dimension, escaped):
    response = marketer_client.get(f"/breakdown/{dimension}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert escaped in html
    assert_no_raw_markup(html)


def test_campaigns_page_escapes_campaign_names(marketer_client, hostile):
    response = marketer_client.get("/campaigns/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'data-name="&lt;img src=x onerror=alert(1)&gt;"' in html
    assert_no_raw_markup(html)


# --- admin ---------------------------------------------------------------------------------


def test_admin_click_list_escapes_campaign_and_referer(admin_client, hostile):
    response = admin_client.get("/admin/analytics/click/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&quot;quoted&quot; host" in html
    assert_no_raw_markup(html)


def test_admin_click_change_page_escapes_every_field(admin_client, hostile):
    response = admin_client.get(f"/admin/analytics/click/{hostile['click'].pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&quot;quoted&quot; host" in html
    assert_no_raw_markup(html)


def test_admin_campaign_pages_escape_the_name(admin_client, hostile):
    for url in (
        "/admin/analytics/campaign/",
        f"/admin/analytics/campaign/{hostile['campaign'].pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, url
        assert_no_raw_markup(html)


def test_admin_delivery_change_page_escapes_the_raw_body(admin_client, hostile):
    delivery = hostile["delivery"]
    response = admin_client.get(f"/admin/analytics/delivery/{delivery.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    # The body is pretty-printed JSON: its quotes are JSON-escaped, then HTML-escaped.
    assert "&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_admin_failed_delivery_repair_form_escapes_the_body(admin_client, heyoo_endpoint):
    """A failed delivery is editable: its body is shown in a textarea, still escaped."""
    body = payload("heyoo/campaign_clicked")
    body["data"]["click"]["timestamp"] = "not a time"
    body["data"]["click"]["city"] = "</textarea><script>alert(1)</script>"
    response = post_webhook(Client(), heyoo_endpoint, js_json(body))
    assert_failed_in_processing(response, js_json(body))
    delivery = Delivery.objects.get()

    response = admin_client.get(f"/admin/analytics/delivery/{delivery.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "</textarea><script>alert(1)" not in html


# --- API -----------------------------------------------------------------------------------


def _json(response) -> object:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_stats_breakdown_api_returns_the_literal_strings(marketer_client, hostile):
    response = marketer_client.get("/api/stats/breakdown/city/")
    cities = _json(response)
    referers = _json(marketer_client.get("/api/stats/breakdown/referer/"))
    campaigns = _json(marketer_client.get("/api/stats/breakdown/campaign/"))

    assert XSS_CITY in {row["label"] for row in cities["rows"]}
    assert XSS_CITY in {row["value"] for row in cities["rows"]}
    assert QUOTED_REFERER in {row["label"] for row in referers["rows"]}
    assert any(row["label"].startswith(XSS_CAMPAIGN) for row in campaigns["rows"])
    # JSON-encoded, not HTML-escaped.
    assert json.dumps(XSS_CITY) in response.content.decode()
    assert "&lt;" not in response.content.decode()


def test_clicks_api_returns_the_literal_strings(marketer_client, hostile):
    response = marketer_client.get("/api/clicks/")
    data = _json(response)

    row = next(row for row in data["results"] if row["id"] == hostile["click"].pk)
    assert row["city"] == XSS_CITY
    assert row["referer"] == QUOTED_REFERER
    assert row["campaign"] == XSS_CAMPAIGN
    text = response.content.decode()
    assert json.dumps(XSS_CITY) in text
    assert "&lt;" not in text


def test_campaigns_api_returns_the_literal_name(marketer_client, hostile):
    data = _json(marketer_client.get("/api/campaigns/"))

    assert XSS_CAMPAIGN in {row["name"] for row in data["results"]}


# --- CSV -----------------------------------------------------------------------------------


def _csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# The clicks CSV is written by COPY on a connection of its own: the rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_clicks_csv_neutralizes_formulas_and_keeps_markup_as_text(marketer_client, hostile):
    rows = _csv_rows(marketer_client.get("/export/clicks.csv"))

    cities = {row["city"] for row in rows}
    assert "'" + FORMULA_CITY in cities
    assert FORMULA_CITY not in cities
    assert XSS_CITY in cities  # CSV is not HTML: the text stays as sent
    assert XSS_CAMPAIGN in {row["campaign"] for row in rows}


def test_report_csv_neutralizes_formulas_in_labels(marketer_client, hostile):
    response = marketer_client.get("/export/report.csv", {"dimension": "city"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")

    assert "'=HYPERLINK(" in text
    assert not re.search(r'(^|,)"?=HYPERLINK', text, re.M)
