"""What one webhook costs the database: statements pinned, so a regression shows up here."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import intake
from analytics.models import Click, Link
from tests.conftest import js_json, payload, post_webhook


def _dub_click(click_id: str) -> bytes:
    body = payload("dub_link_clicked")
    body["data"]["click"]["id"] = click_id
    return js_json(body)


def _post(client, endpoint, body: bytes, capture_commits) -> list[str]:
    with capture_commits(execute=True), CaptureQueriesContext(connection) as queries:
        response = post_webhook(client, endpoint, body)
    assert response.status_code == 200, response.content
    return [query["sql"] for query in queries.captured_queries]


def test_a_known_link_is_not_read_again(client, dub_endpoint, django_capture_on_commit_callbacks):
    first = _post(client, dub_endpoint, _dub_click("click-1"), django_capture_on_commit_callbacks)
    second = _post(client, dub_endpoint, _dub_click("click-2"), django_capture_on_commit_callbacks)

    link_reads = [sql for sql in second if sql.startswith('SELECT "analytics_link"')]
    assert link_reads == []
    assert len(second) < len(first)
    assert Click.objects.count() == 2


def test_a_changed_link_is_written_again(client, dub_endpoint, django_capture_on_commit_callbacks):
    _post(client, dub_endpoint, _dub_click("click-1"), django_capture_on_commit_callbacks)
    body = json.loads(_dub_click("click-2"))
    body["data"]["link"]["url"] = "https://example.com/changed"
    _post(client, dub_endpoint, js_json(body), django_capture_on_commit_callbacks)

    assert Link.objects.get().destination_url == "https://example.com/changed"


def test_rows_of_a_rolled_back_delivery_are_not_remembered(client, dub_endpoint):
    # Without a commit (the test's transaction never commits) nothing is remembered.
    post_webhook(client, dub_endpoint, _dub_click("click-1"))
    assert intake._KNOWN == {}
