"""What every sender's webhook does, written once and run for each sender of tests/sender_cases.

What only one sender does (its normalization, time zones, arrays…) is in its own
tests/test_webhook_<sender>.py.
"""

import copy
import json
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import Campaign, Click, Contact, Delivery, Link, WebhookEndpoint
from analytics.senders import SENDERS, PayloadError
from tests.conftest import (
    accepted,
    assert_failed_in_processing,
    assert_kept_as_failed,
    js_json,
    outcome,
    payload,
    post_webhook,
    process_queue,
    replace_parser,
    summary,
)
from tests.sender_cases import CASES, WITH_SECRET, SenderCase

RELATED = {"Campaign": Campaign, "Link": Link, "Contact": Contact}
BREAKS = [pytest.param(case, one, id=f"{case}-{one.name}") for case in CASES for one in case.breaks]
NON_CLICKS = [
    pytest.param(case, name, event_type, id=name)
    for case in CASES
    for name, event_type in case.non_clicks
]


@pytest.fixture(params=CASES, ids=str)
def case(request) -> SenderCase:
    return request.param


@pytest.fixture
def endpoint(case, db) -> WebhookEndpoint:
    return _endpoint(case)


def _endpoint(case: SenderCase) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(sender=case.sender, name="Acme", secret=case.secret)


def _sample(case: SenderCase, *changes) -> bytes:
    document = copy.deepcopy(payload(case.click))
    for change in changes:
        change(document)
    return js_json(document)


def _related_counts() -> dict[str, int]:
    return {name: model.objects.count() for name, model in RELATED.items()}


def _reprocess(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reprocess_deliveries", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _credentials(endpoint: WebhookEndpoint, body: bytes) -> dict[str, str]:
    """The headers the sender sends with ``body`` (none when the endpoint has no secret)."""
    if not endpoint.secret:
        return {}
    return SENDERS[endpoint.sender].sign_headers(endpoint.secret, body)


# --- the sample click ----------------------------------------------------------------------------


def test_sample_click_is_stored_as_one_click(client, case, endpoint):
    body = _sample(case)

    response = post_webhook(client, endpoint, body)

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == accepted(delivery.pk)
    assert outcome(response) == summary(delivery.pk, "processed", created=1)
    click = Click.objects.get()
    assert Click.objects.get(**case.sample_click) == click
    assert (click.sender, click.endpoint, click.delivery) == (case.sender, endpoint, delivery)
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == case.click_event_type
    assert bytes(delivery.body) == body
    assert _related_counts() == case.related


def test_redelivery_creates_no_second_click(client, case, endpoint):
    post_webhook(client, endpoint, _sample(case))
    response = post_webhook(client, endpoint, _sample(case))

    assert response.status_code == 200
    latest = Delivery.objects.latest("pk")
    assert outcome(response) == summary(latest.pk, "duplicate", duplicates=1)
    assert latest.status == Delivery.Status.DUPLICATE
    assert Delivery.objects.count() == 2
    assert Click.objects.count() == 1
    assert Click.objects.get().delivery == Delivery.objects.earliest("pk")
    assert _related_counts() == case.related


@pytest.mark.parametrize(("case", "name", "event_type"), NON_CLICKS)
def test_non_click_events_are_kept_and_ignored(client, case, endpoint, name, event_type):
    response = post_webhook(client, endpoint, js_json(payload(name)))

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert outcome(response) == summary(delivery.pk, "ignored", ignored=1)
    assert delivery.status == Delivery.Status.IGNORED
    assert delivery.event_type == event_type
    assert not Click.objects.exists()
    assert not Contact.objects.exists()


# --- which URL, which credentials ----------------------------------------------------------------


def test_wrong_token_is_not_found(client, case, endpoint):
    body = _sample(case)

    response = client.post(
        f"/webhooks/{case.sender}/not-the-token/",
        body,
        content_type="application/json",
        headers=_credentials(endpoint, body),
    )

    assert response.status_code == 404
    assert response.json() == {"error": f"No {case.sender} webhook endpoint has this URL."}
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_another_senders_token_is_not_found(client, db, case):
    other_endpoint = _endpoint(CASES[(CASES.index(case) + 1) % len(CASES)])
    body = _sample(case)

    response = client.post(
        f"/webhooks/{case.sender}/{other_endpoint.token}/",
        body,
        content_type="application/json",
        headers=_credentials(other_endpoint, body),
    )

    assert response.status_code == 404
    assert not Delivery.objects.exists()


def test_disabled_endpoint_is_not_found(client, case, endpoint):
    endpoint.is_active = False
    endpoint.save()

    response = post_webhook(client, endpoint, _sample(case))

    # 404, never 410: Woodpecker unsubscribes on 410.
    assert response.status_code == 404
    assert response.json() == {"error": f"The webhook endpoint {endpoint.name!r} is disabled."}
    assert not Delivery.objects.exists()


def test_endpoint_without_a_secret_accepts_unauthenticated_deliveries(client, db, case):
    endpoint = WebhookEndpoint.objects.create(sender=case.sender, name="No secret")

    response = client.post(
        endpoint.get_absolute_url(), _sample(case), content_type="application/json"
    )
    process_queue()

    assert response.status_code == 200
    assert outcome(response) == summary(response.json()["delivery"], "processed", created=1)
    assert Click.objects.count() == 1


@pytest.mark.parametrize("case", WITH_SECRET, ids=str)
def test_wrong_credential_is_refused(client, case, endpoint):
    response = post_webhook(client, endpoint, _sample(case), **case.wrong_credential)

    assert response.status_code == 401
    assert response.json() == {"error": case.wrong_credential_error}
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


@pytest.mark.parametrize("case", WITH_SECRET, ids=str)
def test_missing_credential_is_refused(client, case, endpoint):
    response = client.post(
        endpoint.get_absolute_url(), _sample(case), content_type="application/json"
    )

    assert response.status_code == 401
    assert response.json() == {"error": case.missing_credential_error}
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("case", WITH_SECRET, ids=str)
def test_another_endpoints_credential_is_refused(client, case, endpoint):
    other = WebhookEndpoint.objects.create(
        sender=case.sender, name="Other account", secret="another_secret_0123456789"
    )
    body = _sample(case)
    headers = _credentials(other, body)

    response = client.post(
        endpoint.get_absolute_url(), body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert not Delivery.objects.exists()
    # The same headers are good on their own endpoint: it is the endpoint that refused them.
    own = client.post(
        other.get_absolute_url(), body, content_type="application/json", headers=headers
    )
    assert own.status_code == 200


@pytest.mark.parametrize("case", [c for c in WITH_SECRET if c.signs_body], ids=str)
def test_body_altered_after_signing_is_refused(client, case, endpoint):
    body = _sample(case)
    headers = _credentials(endpoint, body)
    document = json.loads(body)
    reserialized = json.dumps(document, indent=2).encode()  # same JSON, other bytes
    assert reserialized != body
    changed = _sample(case, case.breaks[0].change)

    for altered in (reserialized, changed):
        response = client.post(
            endpoint.get_absolute_url(), altered, content_type="application/json", headers=headers
        )
        assert response.status_code == 401
        assert not Delivery.objects.exists()
    signed = client.post(
        endpoint.get_absolute_url(), body, content_type="application/json", headers=headers
    )
    assert signed.status_code == 200


@pytest.mark.parametrize("case", WITH_SECRET, ids=str)
def test_credentials_are_not_stored(client, case, endpoint):
    post_webhook(client, endpoint, _sample(case))

    headers = Delivery.objects.get().headers
    assert {name: headers[name] for name in case.masked_headers} == case.masked_headers
    assert endpoint.secret not in str(headers)


# --- bodies that do not fit ----------------------------------------------------------------------


def test_malformed_json_is_refused_and_kept(client, case, endpoint):
    response = post_webhook(client, endpoint, case.malformed)

    error = assert_kept_as_failed(response, case.malformed)
    assert error.startswith("The body is not valid JSON")
    assert not Click.objects.exists()


def test_json_of_the_wrong_top_level_shape_is_refused_and_kept(client, case, endpoint):
    body = case.wrong_shape(payload(case.click))

    response = post_webhook(client, endpoint, body)

    assert assert_kept_as_failed(response, body) == case.shape_error
    assert not Click.objects.exists()


@pytest.mark.parametrize(("case", "broken"), BREAKS)
def test_click_of_the_wrong_shape_is_accepted_then_fails_naming_the_field(
    client, case, endpoint, broken
):
    body = _sample(case, broken.change)

    response = post_webhook(client, endpoint, body)

    assert assert_failed_in_processing(response, body) == broken.error
    assert not Click.objects.exists()


# --- reprocessing --------------------------------------------------------------------------------


def test_reprocessing_leaves_an_unrepaired_delivery_failed(client, case, endpoint):
    broken = case.breaks[0]
    post_webhook(client, endpoint, _sample(case, broken.change))

    _, err = _reprocess()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error == broken.error
    assert delivery.attempts == 2
    assert err == f"Delivery {delivery.pk}: {broken.error}\n"
    assert not Click.objects.exists()


def test_failed_delivery_is_reprocessed_after_its_body_is_repaired(client, case, endpoint):
    body = _sample(case, case.breaks[0].change)
    response = post_webhook(client, endpoint, body)
    assert assert_failed_in_processing(response, body) == case.breaks[0].error
    delivery = Delivery.objects.get()

    # An admin repairs the stored body.
    Delivery.objects.filter(pk=delivery.pk).update(body=_sample(case))
    out, _ = _reprocess()

    assert out == "Reprocessed 1 deliveries (1 processed); 1 clicks created.\n"
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert (delivery.error, delivery.event_type) == ("", case.click_event_type)
    assert (delivery.clicks_created, delivery.duplicates, delivery.ignored) == (1, 0, 0)
    assert delivery.attempts == 2
    assert Click.objects.get(**case.sample_click).delivery == delivery

    out, _ = _reprocess()

    assert out == "Reprocessed 0 deliveries (none matched); 0 clicks created.\n"
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED

    _reprocess("--id", str(delivery.pk))
    _reprocess("--status", "processed")

    assert Click.objects.count() == 1
    assert _related_counts() == case.related
    delivery.refresh_from_db()
    assert (delivery.clicks_created, delivery.duplicates) == (0, 1)


def test_failed_delivery_is_reprocessed_after_a_parser_fix(client, case, endpoint, monkeypatch):
    def broken_parse(body, zone):
        raise PayloadError("A parser bug, fixed in the next release.")

    replace_parser(monkeypatch, case.sender, broken_parse)
    body = _sample(case)
    response = post_webhook(client, endpoint, body)
    error = assert_failed_in_processing(response, body)
    assert error == "A parser bug, fixed in the next release."

    monkeypatch.undo()  # the fix is deployed
    _reprocess()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == case.click_event_type
    assert Click.objects.get(**case.sample_click).delivery == delivery

    _reprocess()

    assert Click.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED


# --- unique visitors -----------------------------------------------------------------------------


def test_second_click_by_the_same_visitor_in_the_same_campaign_is_not_unique(
    client, case, endpoint
):
    post_webhook(client, endpoint, _sample(case))

    response = post_webhook(client, endpoint, _sample(case, case.again))

    assert outcome(response) == summary(response.json()["delivery"], "processed", created=1)
    assert list(Click.objects.order_by("pk").values_list("is_unique", flat=True)) == [True, False]


def test_the_same_visitor_in_another_campaign_is_unique_again(client, case, endpoint):
    post_webhook(client, endpoint, _sample(case))

    post_webhook(client, endpoint, _sample(case, case.other_campaign))

    assert Click.objects.count() == 2
    assert Click.objects.get(**case.other_campaign_click).is_unique is True
    assert Click.objects.get(**case.sample_click).is_unique is True


def test_another_visitor_in_the_same_campaign_is_unique(client, case, endpoint):
    post_webhook(client, endpoint, _sample(case))

    post_webhook(client, endpoint, _sample(case, case.other_visitor))

    assert list(Click.objects.order_by("pk").values_list("is_unique", flat=True)) == [True, True]
