"""What a webhook costs the database: statements pinned, so a regression shows up here.

Accepting (the view) is one INSERT once the process knows the endpoints; processing (the worker)
is a fixed number of statements per batch, however many deliveries the batch holds.
"""

import json

from analytics import intake
from analytics.models import Click, Delivery, Link
from tests.conftest import accepted, js_json, payload, post_webhook

# Processing one batch of Dub clicks, inside the test's transaction (so the batch's transaction
# is a savepoint): the savepoint, the advisory lock, the queued deliveries, the write's savepoint,
# the links' SELECT and upsert, the SELECT of clicks already stored, the INSERT of first clicks,
# the INSERT of the clicks with their pending rollups, the write's release, the deliveries'
# UPDATE with their outcomes, and the release.
PROCESS_QUERIES = 12


def _dub_click(click_id: str) -> bytes:
    """A Dub click on a link of its own (no UTM, so no campaign): each brings a new link."""
    body = payload("dub/link_clicked_docs")
    body["data"]["click"]["id"] = click_id
    body["data"]["link"]["id"] = f"link_{click_id}"
    return js_json(body)


def _queue(client, endpoint, *click_ids: str) -> None:
    for click_id in click_ids:
        response = post_webhook(client, endpoint, _dub_click(click_id), process=False)
        assert response.status_code == 200, response.content


def test_accepting_a_delivery_is_one_insert_once_the_endpoint_is_known(
    client, dub_endpoint, django_assert_num_queries
):
    # The process's first request reads the endpoints, then stores the delivery.
    with django_assert_num_queries(2):
        first = post_webhook(client, dub_endpoint, _dub_click("click-1"), process=False)
    with django_assert_num_queries(1) as captured:
        second = post_webhook(client, dub_endpoint, _dub_click("click-2"), process=False)

    (insert,) = captured.captured_queries
    assert insert["sql"].lstrip().startswith(f"INSERT INTO {Delivery._meta.db_table} ")
    first_pk, second_pk = Delivery.objects.order_by("pk").values_list("pk", flat=True)
    assert first.json() == accepted(first_pk)
    assert second.json() == accepted(second_pk)
    assert not Click.objects.exists()  # accepting never processes


def test_processing_a_batch_costs_the_same_statements_whatever_its_size(
    client, dub_endpoint, django_assert_num_queries
):
    _queue(client, dub_endpoint, "click-1")
    with django_assert_num_queries(PROCESS_QUERIES):
        one = intake.process_queued(100)

    _queue(client, dub_endpoint, *(f"click-{n}" for n in range(2, 12)))
    with django_assert_num_queries(PROCESS_QUERIES):
        ten = intake.process_queued(100)

    assert (one.deliveries, one.clicks_created) == ({"processed": 1}, 1)
    assert (ten.deliveries, ten.clicks_created) == ({"processed": 10}, 10)
    assert Click.objects.count() == Link.objects.count() == 11


def test_a_changed_link_is_written_again(client, dub_endpoint):
    post_webhook(client, dub_endpoint, _dub_click("click-1"))
    body = json.loads(_dub_click("click-2"))
    body["data"]["link"]["id"] = "link_click-1"
    body["data"]["link"]["url"] = "https://example.com/changed"
    post_webhook(client, dub_endpoint, js_json(body))

    link = Link.objects.get()
    assert link.destination_url == "https://example.com/changed"
    assert set(Click.objects.values_list("link", flat=True)) == {link.pk}
