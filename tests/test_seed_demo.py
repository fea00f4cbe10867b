"""seed_demo: realistic demo traffic from all four senders, fed through the real intake."""

import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import Campaign, Click, Delivery, Sender, WebhookEndpoint
from analytics.senders import parser_for
from clicktrack.demo import demo_deliveries, js_json

CLICKS = 300
# A fixed moment in the past: the generator is pure, and parsers reject clicks in the future.
NOW = datetime(2025, 6, 2, 15, 30, tzinfo=UTC)


@pytest.fixture
def seeded(db) -> tuple[datetime, str]:
    started = timezone.now()
    out = io.StringIO()
    call_command("seed_demo", clicks=CLICKS, days=10, stdout=out)
    return started, out.getvalue()


def test_seed_demo_feeds_all_four_senders_through_intake(seeded):
    _, output = seeded

    deliveries = Delivery.objects.all()
    assert set(deliveries.values_list("endpoint__sender", flat=True)) == set(Sender.values)
    assert not deliveries.filter(status=Delivery.Status.FAILED).exists()
    assert not deliveries.filter(status=Delivery.Status.RECEIVED).exists()  # all processed
    assert deliveries.filter(status=Delivery.Status.IGNORED).exists()  # lead.created, opens…
    # Exactly CLICKS distinct clicks are generated; the tolerance is for a chance collision.
    assert CLICKS - 5 <= Click.objects.count() <= CLICKS
    assert set(Click.objects.values_list("sender", flat=True)) == set(Sender.values)
    assert not Click.objects.filter(delivery=None).exists()
    assert "clicks/s" in output
    assert f"{Click.objects.count()} clicks created" in output


def test_seed_demo_clicks_look_like_real_traffic(seeded):
    started, _ = seeded

    clicks = Click.objects.all()
    assert not clicks.filter(occurred_at__lt=started - timedelta(days=10)).exists()
    assert not clicks.filter(occurred_at__gt=timezone.now()).exists()
    assert Campaign.objects.filter(click__isnull=False).distinct().count() >= 8
    assert clicks.exclude(country="").values("country").distinct().count() >= 10
    assert {"desktop", "mobile"} <= set(clicks.values_list("device", flat=True))
    assert not clicks.filter(sender__in=["dub", "heyoo"], ip=None).exists()  # IPv4 and IPv6
    assert clicks.filter(is_bot=True).exists()
    assert clicks.filter(is_qr=True).exists()
    assert 0 < clicks.filter(is_unique=True).count() < clicks.count()  # people click again


def test_seed_demo_creates_one_endpoint_per_sender_and_reuses_them(seeded):
    call_command("seed_demo", clicks=20, days=10, seed=8, stdout=io.StringIO())

    endpoints = WebhookEndpoint.objects.order_by("sender")
    assert [(e.sender, e.name) for e in endpoints] == [
        ("dub", "Demo Dub"),
        ("heyoo", "Demo Heyoo"),
        ("opptima", "Demo Opptima"),
        ("woodpecker", "Demo Woodpecker"),
    ]
    assert {e.sender for e in endpoints if e.secret} == {"dub", "heyoo", "opptima"}
    assert endpoints.get(sender="opptima").time_zone == "America/Bogota"


def test_seed_demo_if_empty_adds_nothing_once_clicks_exist(seeded):
    before = Click.objects.count(), Delivery.objects.count()
    out = io.StringIO()

    call_command("seed_demo", clicks=50, days=10, if_empty=True, stdout=out)

    assert (Click.objects.count(), Delivery.objects.count()) == before
    assert "no demo data added" in out.getvalue()


def test_demo_deliveries_are_deterministic_for_a_seed_and_now():
    first = list(demo_deliveries(200, 10, NOW, seed=3))

    assert first == list(demo_deliveries(200, 10, NOW, seed=3))
    assert first != list(demo_deliveries(200, 10, NOW, seed=4))
    assert sum(count for *_, count in first) >= 200  # more only when a body is redelivered


def test_demo_bodies_parse_as_each_sender_sends_them():
    deliveries = list(demo_deliveries(400, 10, NOW))
    zones = {"opptima": ZoneInfo("America/Bogota")}
    keys: Counter[tuple[str, str]] = Counter()

    for sender, body, count in deliveries:
        events = parser_for(sender)(body, zones.get(sender, ZoneInfo("UTC")))
        clicks = [event.click for event in events if event.click]
        assert len(clicks) == count
        for click in clicks:
            assert NOW - timedelta(days=10) <= click.occurred_at <= NOW
            keys[sender, click.click_key] += 1
        payload = json.loads(body)
        if sender in ("dub", "heyoo"):
            assert body == js_json(payload)  # JSON.stringify: compact, non-ASCII unescaped
        elif sender == "woodpecker":
            assert isinstance(payload, list)
            assert all(
                re.search(r"T\d\d:\d\d:\d\d[+-]\d{4}$", item["timestamp"]) for item in payload
            )
        else:
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", payload["timestamp"])
    assert len(keys) == 400
    assert (
        max(len(json.loads(body)) for sender, body, _ in deliveries if sender == "woodpecker") > 1
    )
    assert any(
        "São Paulo".encode() in body or "Bogotá".encode() in body for _, body, _ in deliveries
    )
