"""Schemathesis against the read API's own OpenAPI schema (/api/schema/), as a marketer.

Every GET operation is called with generated parameters through the Django WSGI application;
each response must not be a server error and must match what the schema promises (status code,
content type, headers, body). Bounded: 25 generated cases per operation.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from analytics.models import Campaign, Sender
from clicktrack.wsgi import application

TOKEN = "0123456789abcdef0123456789abcdef01234567"
AUTH = {"Authorization": f"Token {TOKEN}"}
OPERATIONS = [
    "/api/stats/page/",
    "/api/stats/summary/",
    "/api/stats/timeseries/",
    "/api/stats/breakdown/{dimension}/",
    "/api/clicks/",
    "/api/campaigns/",
    "/api/stats/live/",
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _one_connection():
    """Keep the test's connection across requests, as Django's test client does.

    The WSGI handler closes "old" connections when a request starts and ends; inside the test's
    transaction that would drop the connection, and with it every row the test wrote.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, marketer, make_click, _one_connection):
    """The schema as /api/schema/ serves it to a marketer, with a few clicks to read back."""
    Token.objects.create(user=marketer, key=TOKEN)
    campaign = Campaign.objects.create(sender=Sender.HEYOO, external_id="c1", name="Spring")
    now = timezone.now()
    for hours, country in ((1, "US"), (5, "DE"), (30, "")):
        make_click(
            now - timedelta(hours=hours),
            sender=Sender.HEYOO,
            campaign=campaign,
            country=country,
            city="Berlin",
            browser="Chrome",
        )
    make_click(now - timedelta(days=3), is_bot=True, referer="(direct)")
    return schemathesis.openapi.from_wsgi("/api/schema/", application, headers=AUTH)


def test_every_operation_is_a_get_tested_here(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert sorted(f"{op.method.upper()} {op.path}" for op in operations) == sorted(
        f"GET {path}" for path in OPERATIONS
    )


# schemathesis.pytest.from_fixture() + @schema.parametrize() would be the usual way, but
# schemathesis 4.32.5's lazy loader sets Function._nodeid, which pytest 9 no longer has; each
# operation's strategy is driven by Hypothesis directly instead.
@pytest.mark.parametrize("path", OPERATIONS)
def test_read_api_conforms_to_its_schema(api_schema, path):
    operation = api_schema[path]["GET"]

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=operation.as_strategy())
    def call(case):
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    call()
