"""Management commands: create_webhook, reprocess_deliveries, export_clicks."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from analytics.models import Click, Delivery, WebhookEndpoint
from tests.conftest import (
    assert_failed_in_processing,
    js_json,
    outcome,
    payload,
    post_webhook,
    process_queue,
    replace_parser,
)

pytestmark = pytest.mark.django_db

EXPORT_HEADER = (
    "id,occurred_at,sender,external_id,canonical_campaign_id,canonical_campaign,campaign,"
    "campaign_external_id,url,country,region,city,"
    "continent,latitude,longitude,device,browser,os,referer,referer_url,is_qr,is_bot,bot_reason,"
    "is_unique,"
    "recipient_email,sharer_email,utm_source,utm_medium,utm_campaign"
)


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- create_webhook -------------------------------------------------------------------------


def test_create_webhook_prints_the_path_to_give_the_sender():
    out, _ = run("create_webhook", "dub")

    endpoint = WebhookEndpoint.objects.get()
    assert out.strip() == f"/webhooks/dub/{endpoint.token}/"
    assert endpoint.sender == "dub"
    assert endpoint.name == "Dub"
    assert endpoint.secret == ""
    assert endpoint.is_active is True


def test_the_printed_path_receives_webhooks(client):
    out, _ = run("create_webhook", "woodpecker", "--name", "Outbound")

    response = client.post(
        out.strip(), js_json(payload("woodpecker/link_clicked")), content_type="application/json"
    )
    process_queue()

    assert response.status_code == 200
    assert Click.objects.get().endpoint == WebhookEndpoint.objects.get()


def test_create_webhook_generates_long_random_url_safe_tokens():
    run("create_webhook", "dub")
    run("create_webhook", "dub")
    run("create_webhook", "heyoo")

    tokens = list(WebhookEndpoint.objects.values_list("token", flat=True))
    assert len(set(tokens)) == 3
    for token in tokens:
        assert len(token) >= 40
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


def test_create_webhook_honours_token_secret_and_name(client):
    out, _ = run(
        "create_webhook",
        "dub",
        "--token",
        "acme-workspace-token",
        "--secret",
        "whsec_given",
        "--name",
        "Acme workspace",
    )

    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.token, endpoint.secret, endpoint.name) == (
        "acme-workspace-token",
        "whsec_given",
        "Acme workspace",
    )
    assert "/webhooks/dub/acme-workspace-token" in out
    response = post_webhook(client, endpoint, js_json(payload("dub/link_clicked_real")))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("sender", "zone"),
    [
        ("opptima", "America/Bogota"),
        ("dub", "UTC"),
        ("heyoo", "UTC"),
        ("woodpecker", "UTC"),
    ],
)
def test_create_webhook_defaults_the_time_zone_by_sender(sender, zone):
    run("create_webhook", sender)

    assert WebhookEndpoint.objects.get().time_zone == zone


def test_create_webhook_honours_an_explicit_time_zone():
    run("create_webhook", "opptima", "--timezone", "Europe/Madrid")

    assert WebhookEndpoint.objects.get().time_zone == "Europe/Madrid"


def test_create_webhook_rejects_an_unknown_time_zone_with_a_clear_message():
    with pytest.raises(CommandError) as error:
        run("create_webhook", "opptima", "--timezone", "Mars/Olympus")

    message = str(error.value)
    assert "Mars/Olympus" in message
    assert "time zone" in message
    assert "Traceback" not in message
    assert not WebhookEndpoint.objects.exists()


def test_create_webhook_rejects_a_token_already_in_use():
    run("create_webhook", "dub", "--token", "shared-token-0123")

    with pytest.raises(CommandError, match=r"(?i)token"):
        run("create_webhook", "heyoo", "--token", "shared-token-0123")

    assert WebhookEndpoint.objects.count() == 1


def test_create_webhook_rejects_a_token_that_cannot_be_part_of_the_url():
    with pytest.raises(CommandError, match=r"(?i)token"):
        run("create_webhook", "dub", "--token", "team/acme")

    assert not WebhookEndpoint.objects.exists()


def test_create_webhook_rejects_an_unknown_sender():
    with pytest.raises(CommandError):
        run("create_webhook", "mailchimp")

    assert not WebhookEndpoint.objects.exists()


# --- reprocess_deliveries -------------------------------------------------------------------


def _parser_bug(body, zone):
    raise RuntimeError("parser bug")


def post_while_broken(client, monkeypatch, endpoint, body: bytes) -> Delivery:
    """POST, and process, while the Dub parser is broken: the sender hears 200 (accepting does
    not parse), and processing keeps the delivery, failed, for reprocessing."""
    with monkeypatch.context() as patch:
        replace_parser(patch, "dub", _parser_bug)
        response = post_webhook(client, endpoint, body)
    assert assert_failed_in_processing(response, body) == "parser bug"
    return Delivery.objects.get(pk=response.json()["delivery"])


def dub_click(click_id: str, **click: object) -> bytes:
    event = payload("dub/link_clicked_real")
    event["data"]["click"].update(id=click_id, **click)
    return js_json(event)


def test_reprocessing_a_failed_delivery_after_the_fix_creates_its_click(
    client, monkeypatch, dub_endpoint
):
    delivery = post_while_broken(client, monkeypatch, dub_endpoint, dub_click("click1"))
    assert not Click.objects.exists()

    out, _ = run("reprocess_deliveries")

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert (delivery.clicks_created, delivery.error, delivery.attempts) == (1, "", 2)
    assert Click.objects.get().delivery == delivery
    assert out.strip() == "Reprocessed 1 deliveries (1 processed); 1 clicks created."


def test_reprocessing_is_idempotent(client, monkeypatch, dub_endpoint):
    post_while_broken(client, monkeypatch, dub_endpoint, dub_click("click1"))
    run("reprocess_deliveries")
    click = Click.objects.get()

    again, _ = run("reprocess_deliveries")
    everything = ["--status", "processed", "--status", "duplicate", "--status", "failed"]
    first, _ = run("reprocess_deliveries", *everything)
    second, _ = run("reprocess_deliveries", *everything)

    assert again.strip() == "Reprocessed 0 deliveries (none matched); 0 clicks created."
    assert first.strip() == second.strip()
    assert second.strip() == "Reprocessed 1 deliveries (1 duplicate); 0 clicks created."
    assert Click.objects.get() == click
    assert Click.objects.get().is_unique is True


def test_reprocessing_a_body_that_still_does_not_fit_keeps_it_failed(client, dub_endpoint):
    response = post_webhook(client, dub_endpoint, b"not json")
    assert response.status_code == 400
    assert Delivery.objects.get().attempts == 0  # refused by the view: never processed

    out, err = run("reprocess_deliveries")

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1
    assert f"Delivery {delivery.pk}:" in err
    assert "JSON" in err
    assert out.strip() == "Reprocessed 1 deliveries (1 failed); 0 clicks created."
    assert not Click.objects.exists()


def test_reprocess_only_touches_the_statuses_asked_for(client, monkeypatch, dub_endpoint):
    failed = post_while_broken(client, monkeypatch, dub_endpoint, dub_click("click1"))
    post_webhook(client, dub_endpoint, js_json(payload("dub/lead_created")))
    post_webhook(client, dub_endpoint, dub_click("click2"))
    ignored = Delivery.objects.get(status=Delivery.Status.IGNORED)
    processed = Delivery.objects.get(status=Delivery.Status.PROCESSED)

    out, _ = run("reprocess_deliveries", "--status", "ignored")

    attempts = dict(Delivery.objects.values_list("pk", "attempts"))
    assert attempts == {failed.pk: 1, ignored.pk: 2, processed.pk: 1}
    assert out.strip() == "Reprocessed 1 deliveries (1 ignored); 0 clicks created."
    assert Delivery.objects.get(pk=failed.pk).status == Delivery.Status.FAILED

    run("reprocess_deliveries", "--status", "failed", "--status", "ignored")

    attempts = dict(Delivery.objects.values_list("pk", "attempts"))
    assert attempts == {failed.pk: 2, ignored.pk: 3, processed.pk: 1}
    assert Delivery.objects.get(pk=failed.pk).status == Delivery.Status.PROCESSED


def test_reprocess_since_skips_older_deliveries(client, monkeypatch, dub_endpoint):
    old = post_while_broken(client, monkeypatch, dub_endpoint, dub_click("old"))
    new = post_while_broken(client, monkeypatch, dub_endpoint, dub_click("new"))
    Delivery.objects.filter(pk=old.pk).update(received_at=datetime(2025, 1, 31, 23, tzinfo=UTC))
    Delivery.objects.filter(pk=new.pk).update(received_at=datetime(2025, 2, 1, tzinfo=UTC))

    out, _ = run("reprocess_deliveries", "--since", "2025-02-01")

    assert out.strip() == "Reprocessed 1 deliveries (1 processed); 1 clicks created."
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, old.attempts) == (Delivery.Status.FAILED, 1)
    assert (new.status, new.attempts) == (Delivery.Status.PROCESSED, 2)
    assert list(Click.objects.values_list("external_id", flat=True)) == ["new"]


# --- export_clicks --------------------------------------------------------------------------


@pytest.fixture
def four_clicks(client, dub_endpoint, heyoo_endpoint, woodpecker_endpoint, opptima_endpoint):
    """One click per sender, posted as webhooks; by time: Opptima, Heyoo, Dub, Woodpecker."""
    opptima = payload("opptima/click")
    opptima["cityName"] = "Bogotá"
    for endpoint, body in [
        (dub_endpoint, js_json(payload("dub/link_clicked_real"))),
        (heyoo_endpoint, js_json(payload("heyoo/campaign_clicked"))),
        (woodpecker_endpoint, js_json(payload("woodpecker/link_clicked"))),
        (opptima_endpoint, js_json(opptima)),
    ]:
        response = post_webhook(client, endpoint, body)
        assert response.status_code == 200
        assert outcome(response)["clicks_created"] == 1
    return {click.sender: click for click in Click.objects.all()}


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def export(*args: str) -> list[dict[str, str]]:
    out, _ = run("export_clicks", *args)
    return parse_csv(out)


def test_export_writes_exactly_the_documented_header(four_clicks):
    out, _ = run("export_clicks")

    assert out.splitlines()[0] == EXPORT_HEADER


def test_export_of_no_clicks_is_just_the_header(db):
    out, _ = run("export_clicks")

    assert out.splitlines() == [EXPORT_HEADER]


def test_export_writes_one_row_per_click_in_time_order(four_clicks):
    rows = export()

    assert [row["sender"] for row in rows] == ["opptima", "heyoo", "dub", "woodpecker"]
    assert [row["id"] for row in rows] == [
        str(four_clicks[sender].pk) for sender in ("opptima", "heyoo", "dub", "woodpecker")
    ]


def test_export_row_carries_the_normalized_click(four_clicks):
    (row,) = export("--sender", "opptima")

    assert row == {
        "id": str(four_clicks["opptima"].pk),
        "occurred_at": "2020-10-02T20:07:31.000000Z",  # 15:07:31 in Bogotá
        "sender": "opptima",
        "external_id": "",
        "canonical_campaign_id": str(four_clicks["opptima"].campaign.canonical_id),
        "canonical_campaign": "Test campaign name",  # its own, named after it
        "campaign": "Test campaign name",
        "campaign_external_id": "12345",
        "url": "https://www.testdomain.com/",
        "country": "CO",
        "region": "Distrito Capital de Bogota",
        "city": "Bogotá",
        "continent": "SA",
        "latitude": "4.60971",
        "longitude": "-74.081749",
        "device": "mobile",
        "browser": "Chrome",
        "os": "",
        "referer": "",
        "referer_url": "",
        "is_qr": "false",
        "is_bot": "false",
        "bot_reason": "",
        "is_unique": "true",
        "recipient_email": "test@testdomain.com",
        "sharer_email": "",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
    }


def test_export_times_are_iso_8601_utc_ending_in_z(four_clicks):
    times = {row["sender"]: row["occurred_at"] for row in export()}

    assert times == {
        "opptima": "2020-10-02T20:07:31.000000Z",  # sent as 15:07:31, Bogotá time
        "heyoo": "2024-08-26T16:41:52.346000Z",
        "dub": "2025-02-03T09:35:57.926000Z",
        "woodpecker": "2025-03-21T19:47:47.000000Z",  # sent as 20:47:47+0100
    }
    for value in times.values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value)
        assert datetime.fromisoformat(value).utcoffset().total_seconds() == 0


def test_export_writes_booleans_as_true_and_false(client, dub_endpoint):
    post_webhook(client, dub_endpoint, dub_click("qr1", qr=True, bot=True))
    post_webhook(client, dub_endpoint, dub_click("plain1", timestamp="2025-02-03T10:00:00Z"))

    rows = export()

    assert [(row["is_qr"], row["is_bot"], row["is_unique"]) for row in rows] == [
        ("true", "true", "true"),
        ("false", "false", "false"),  # same visitor, same link
    ]


@pytest.mark.parametrize(
    ("args", "senders"),
    [
        (["--since", "2025-01-01"], ["dub", "woodpecker"]),
        (["--until", "2025-01-01"], ["opptima", "heyoo"]),
        (["--since", "2024-01-01", "--until", "2025-03-01"], ["heyoo", "dub"]),
        (["--since", "2025-02-03T09:35:57.926"], ["dub", "woodpecker"]),  # since is inclusive
        (["--until", "2025-02-03T09:35:57.926"], ["opptima", "heyoo"]),  # until is exclusive
        (["--until", "2025-02-03T10:35:57.926+01:00"], ["opptima", "heyoo"]),
        (["--sender", "woodpecker"], ["woodpecker"]),
        (["--sender", "dub", "--until", "2025-01-01"], []),
    ],
)
def test_export_filters_by_time_and_sender(four_clicks, args, senders):
    assert [row["sender"] for row in export(*args)] == senders


def test_export_rejects_a_date_it_cannot_read(db):
    with pytest.raises(CommandError, match="not a date"):
        run("export_clicks", "--since", "last tuesday")


def test_export_to_a_file_writes_utf8_and_reports_on_stderr(four_clicks, tmp_path):
    path = tmp_path / "clicks.csv"

    out, err = run("export_clicks", "--output", str(path))

    assert out == ""
    assert err.strip() == f"Wrote 4 clicks to {path}."
    text = path.read_bytes().decode("utf-8")
    assert text.splitlines()[0] == EXPORT_HEADER
    assert "Bogotá".encode() in path.read_bytes()
    assert text == run("export_clicks")[0]
    rows = parse_csv(text)
    assert len(rows) == 4
    assert {row["sender"]: row["city"] for row in rows}["opptima"] == "Bogotá"


def test_export_round_trips_non_ascii_text(client, dub_endpoint, tmp_path):
    post_webhook(client, dub_endpoint, dub_click("sp1", city="São Paulo", region="Paraná"))
    path = tmp_path / "clicks.csv"

    run("export_clicks", "-o", str(path))

    with path.open(newline="", encoding="utf-8") as file:
        (row,) = csv.DictReader(file)
    assert (row["city"], row["region"]) == ("São Paulo", "Paraná")


def test_export_neutralizes_formulas_but_keeps_negative_numbers(
    client, dub_endpoint, woodpecker_endpoint, opptima_endpoint
):
    post_webhook(
        client,
        dub_endpoint,
        dub_click("f1", city='=HYPERLINK("http://evil.example","x")', region="@SUM(A1)"),
    )
    (woodpecker,) = payload("woodpecker/link_clicked")
    woodpecker["prospect"]["campaign_name"] = "=cmd|' /C calc'!A0"
    woodpecker["prospect"]["city"] = "-2+3"
    post_webhook(client, woodpecker_endpoint, js_json([woodpecker]))
    post_webhook(client, opptima_endpoint, js_json(payload("opptima/click")))

    rows = {row["sender"]: row for row in export()}

    assert rows["dub"]["city"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows["dub"]["region"] == "'@SUM(A1)"
    assert rows["woodpecker"]["campaign"] == "'=cmd|' /C calc'!A0"
    assert rows["woodpecker"]["city"] == "'-2+3"
    assert rows["opptima"]["longitude"] == "-74.081749"
    assert rows["opptima"]["latitude"] == "4.60971"


def test_reprocess_leaves_queued_deliveries_to_the_worker_unless_asked(client, dub_endpoint):
    body = js_json(payload("dub/link_clicked_real"))
    queued = post_webhook(client, dub_endpoint, body, process=False).json()["delivery"]

    out, _ = run("reprocess_deliveries")

    assert out.strip() == "Reprocessed 0 deliveries (none matched); 0 clicks created."
    assert Delivery.objects.get(pk=queued).status == Delivery.Status.RECEIVED
    assert not Click.objects.exists()

    out, _ = run("reprocess_deliveries", "--status", "received")

    assert out.strip() == "Reprocessed 1 deliveries (1 processed); 1 clicks created."
    assert Delivery.objects.get(pk=queued).status == Delivery.Status.PROCESSED
    assert Click.objects.count() == 1


def test_reprocess_by_id_takes_any_status_unless_one_is_given(client, monkeypatch, dub_endpoint):
    failed = post_while_broken(client, monkeypatch, dub_endpoint, dub_click("by-id"))
    post_webhook(client, dub_endpoint, dub_click("other"))
    processed = Delivery.objects.get(status=Delivery.Status.PROCESSED)

    out, _ = run("reprocess_deliveries", "--id", str(processed.pk))

    assert out.strip() == "Reprocessed 1 deliveries (1 duplicate); 0 clicks created."
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Delivery.Status.FAILED, 1)  # not named

    out, _ = run("reprocess_deliveries", "--id", str(failed.pk), "--status", "processed")

    assert out.strip() == "Reprocessed 0 deliveries (none matched); 0 clicks created."
    failed.refresh_from_db()
    assert failed.attempts == 1

    out, _ = run("reprocess_deliveries", "--id", str(failed.pk), "--id", str(processed.pk))

    assert out.strip() == "Reprocessed 2 deliveries (1 duplicate, 1 processed); 1 clicks created."
    assert sorted(Click.objects.values_list("external_id", flat=True)) == ["by-id", "other"]
