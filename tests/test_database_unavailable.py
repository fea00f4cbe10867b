"""While PostgreSQL is unavailable, the API and the downloads answer 503 with Retry-After.

The outage is simulated by refusing every statement on the test's connection (the session read
is the first statement of a signed-in request), and once by refusing new connections. The routes
come from the URLconf, so a new route under /api/ or /export/ is covered without editing this.
"""

import logging
import re
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connection
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from analytics.api_errors import MESSAGE, RETRY_AFTER_SECONDS

SETTINGS = Path(__file__).resolve().parent.parent / "clicktrack" / "settings.py"
# A value for each path parameter that the route would accept with the database up.
PATH_SAMPLES = {"dimension": "country"}


def _routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith(("api/", "export/")):
            yield route


def _url(route: str) -> str:
    def sample(match: re.Match) -> str:
        name = match.group(1)
        assert name in PATH_SAMPLES, f"add a sample value for <{name}> to PATH_SAMPLES"
        return PATH_SAMPLES[name]

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", sample, route)


API_URLS = [_url(route) for route in _routes(get_resolver().url_patterns)]


@contextmanager
def database_down(error: type[Exception] = OperationalError) -> Iterator[None]:
    """Every statement on the connection fails as it does when PostgreSQL is gone."""

    def refuse(execute, sql, params, many, context):
        raise error("server closed the connection unexpectedly (simulated outage)")

    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture
def logs(caplog):
    """Records from every logger, django.request included (the "django" logger does not
    propagate to the root, where caplog listens)."""
    django_logger = logging.getLogger("django")
    django_logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    yield caplog
    django_logger.removeHandler(caplog.handler)


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": MESSAGE}


def assert_one_warning(logs, path: str) -> None:
    """One warning naming the request, nothing at ERROR: an outage is no bug to trace back."""
    assert not [r for r in logs.records if r.levelno >= logging.ERROR]
    warnings = [r for r in logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "analytics.api_errors"
    assert f"GET {path}:" in warnings[0].getMessage()
    assert "simulated outage" in warnings[0].getMessage()
    assert warnings[0].exc_info is None


def test_the_urlconf_lists_the_api_routes_and_downloads():
    assert {
        "/api/stats/summary/",
        "/api/stats/timeseries/",
        "/api/stats/breakdown/country/",
        "/api/clicks/",
        "/api/campaigns/",
        "/api/schema/",
        "/api/docs/",
        "/export/clicks.csv",
        "/export/report.csv",
        "/export/report.zip",
    } <= set(API_URLS)


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept", ["application/json", BROWSER])
@pytest.mark.parametrize("url", API_URLS)
def test_every_api_route_answers_503_with_retry_after_while_the_database_is_down(
    marketer_client, logs, url, accept
):
    # JSON even for a browser: the browsable API's page would need the database to render.
    with database_down():
        response = marketer_client.get(url, headers={"Accept": accept})

    assert_unavailable(response)
    assert_one_warning(logs, url)


def test_a_token_request_answers_503_while_the_database_is_down(client, marketer, logs):
    token = Token.objects.create(user=marketer)

    with database_down():
        response = client.get("/api/clicks/", headers={"Authorization": f"Token {token.key}"})

    assert_unavailable(response)
    assert_one_warning(logs, "/api/clicks/")


def test_a_closed_connection_answers_503(marketer_client, logs):
    with database_down(InterfaceError):
        response = marketer_client.get("/api/campaigns/")

    assert_unavailable(response)
    assert_one_warning(logs, "/api/campaigns/")


@pytest.mark.django_db(transaction=True)
def test_a_refused_connection_answers_503_and_the_next_request_reconnects(marketer_client, logs):
    # Committed rows (transactional test): the connection is really closed and opened again.
    connection.close()
    refused = psycopg.OperationalError("FATAL: sorry, too many clients already")

    with mock.patch.object(connection, "get_new_connection", side_effect=refused):
        response = marketer_client.get("/api/stats/summary/")

    assert_unavailable(response)
    assert not [r for r in logs.records if r.levelno >= logging.ERROR]
    assert "too many clients" in logs.records[-1].getMessage()
    assert marketer_client.get("/api/stats/summary/").status_code == 200


def test_the_api_answers_again_once_the_database_is_back(marketer_client):
    with database_down():
        assert marketer_client.get("/api/stats/summary/").status_code == 503

    response = marketer_client.get("/api/stats/summary/?range=7d")

    assert response.status_code == 200
    assert response.json()["current"]["clicks"] == 0


def test_a_request_error_is_still_a_400_not_a_503(marketer_client):
    response = marketer_client.get("/api/stats/summary/?range=forever")

    assert response.status_code == 400
    assert "Retry-After" not in response


def conn_max_age(monkeypatch, argv: list[str], configured: str | None = None) -> int:
    """CONN_MAX_AGE as clicktrack/settings.py sets it for a process started with ``argv``."""
    monkeypatch.setattr("sys.argv", argv)
    if configured is None:
        monkeypatch.delenv("DATABASE_CONN_MAX_AGE", raising=False)
    else:
        monkeypatch.setenv("DATABASE_CONN_MAX_AGE", configured)
    return runpy.run_path(str(SETTINGS))["DATABASES"]["default"]["CONN_MAX_AGE"]


def test_the_development_server_keeps_no_persistent_connections(monkeypatch):
    # runserver starts a thread, and so a connection, per request: kept ones would pile up.
    assert conn_max_age(monkeypatch, ["manage.py", "runserver", "127.0.0.1:8000"]) == 0


def test_production_servers_keep_connections_for_60_seconds(monkeypatch):
    assert conn_max_age(monkeypatch, ["gunicorn", "clicktrack.wsgi", "--threads", "4"]) == 60
    assert conn_max_age(monkeypatch, ["granian", "--interface", "wsgi"]) == 60


def test_a_configured_connection_age_applies_under_any_server(monkeypatch):
    assert conn_max_age(monkeypatch, ["manage.py", "runserver"], configured="60") == 60
    assert conn_max_age(monkeypatch, ["gunicorn", "clicktrack.wsgi"], configured="0") == 0
