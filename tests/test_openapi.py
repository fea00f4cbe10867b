import pytest
import yaml
from django.core.management import call_command

from analytics.filters import DIMENSIONS

FILTERS = {"range", "from", "to", "tz", "bots", "sender_campaign"} | {
    name for key in DIMENSIONS for name in (key, f"{key}!")
}
ENDPOINTS = {
    "/api/stats/page/": FILTERS | {"bucket", "breakdowns"},
    "/api/stats/summary/": FILTERS,
    "/api/stats/timeseries/": FILTERS | {"bucket"},
    "/api/stats/breakdown/{dimension}/": FILTERS | {"dimension", "limit"},
    "/api/clicks/": FILTERS | {"cursor", "page_size"},
    "/api/campaigns/": FILTERS | {"page", "page_size"},
    "/api/stats/live/": {"bots"},
}


@pytest.fixture
def schema(db, tmp_path) -> dict:
    """The schema as `manage.py spectacular` writes it, validated, any warning an error."""
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_validates_and_documents_every_parameter(schema):
    assert set(schema["paths"]) == set(ENDPOINTS)
    for path, expected in ENDPOINTS.items():
        operation = schema["paths"][path]["get"]
        assert {parameter["name"] for parameter in operation["parameters"]} == expected, path
        assert {"200", "400", "401", "403", "503"} <= set(operation["responses"]), path
        assert set(operation["responses"]["503"]["headers"]) == {"Retry-After"}, path


def test_schema_describes_the_response_shapes(schema):
    components = schema["components"]["schemas"]

    assert list(components["Click"]["properties"]) == [
        "id",
        "occurred_at",
        "sender",
        "external_id",
        "canonical_campaign_id",
        "canonical_campaign",
        "campaign",
        "campaign_external_id",
        "url",
        "country",
        "region",
        "city",
        "continent",
        "latitude",
        "longitude",
        "device",
        "browser",
        "os",
        "referer",
        "referer_url",
        "is_qr",
        "is_bot",
        "bot_reason",
        "is_unique",
        "recipient_email",
        "sharer_email",
        "utm_source",
        "utm_medium",
        "utm_campaign",
    ]
    assert set(components["PaginatedClickList"]["properties"]) == {"next", "previous", "results"}
    assert set(components["Summary"]["properties"]) == {
        "period",
        "previous_period",
        "steps",
        "current",
        "previous",
        "change",
    }
    assert set(components["BreakdownRow"]["properties"]) == {
        "value",
        "label",
        "clicks",
        "unique",
        "share",
    }
    assert {"clicks", "unique", "last_click"} <= set(components["Campaign"]["properties"])


def test_schema_endpoint_answers_marketers(marketer_client):
    response = marketer_client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert "/api/clicks/" in yaml.safe_load(response.content)["paths"]


def test_schema_endpoint_refuses_anonymous_requests(client, db):
    assert client.get("/api/schema/").status_code == 401


def test_docs_page_answers_marketers_with_local_assets(marketer_client):
    response = marketer_client.get("/api/docs/")
    page = response.content.decode()

    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
    asset = marketer_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    assert asset.status_code == 200


def test_docs_page_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"
