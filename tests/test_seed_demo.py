"""seed_demo: realistic demo traffic from all four senders, fed through the real intake."""

import io
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from analytics.bot_reasons import BotReason
from analytics.management.commands import seed_demo as seed_demo_command
from analytics.models import (
    Campaign,
    CanonicalCampaign,
    Click,
    Delivery,
    Link,
    Sender,
    WebhookEndpoint,
)
from analytics.senders import ClickData, parser_for
from clicktrack.demo import data as dd
from clicktrack.demo import demo_deliveries, js_json
from clicktrack.demo.world import READ_AFTER_MIN

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


def test_seed_demo_unifies_black_friday_across_three_tools(seeded):
    call_command("seed_demo", clicks=20, days=10, seed=8, stdout=io.StringIO())  # no second one

    black_friday = CanonicalCampaign.objects.get(name="Black Friday", is_automatic=False)
    assert black_friday.rules.count() == 2
    # Both runs' Heyoo campaigns (ids are drawn from each seed) land in it, by name.
    members = set(black_friday.campaigns.values_list("sender", "name"))
    assert members == {
        ("dub", "black-friday"),
        ("heyoo", "Black Friday Deals"),
        ("opptima", "Black Friday LatAm"),
    }


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


def test_seed_demo_reports_progress_when_output_is_not_a_terminal(seeded):
    _, output = seeded  # call_command writes to a StringIO: no terminal, no progress bar

    progress = re.findall(r"^Seeding demo data: +(\d+)% \((\d+) of (\d+) clicks", output, re.M)
    percents = [int(percent) for percent, *_ in progress]
    # A line in every tenth of the way (and every few seconds), ending at 100%.
    assert {percent // 10 for percent in percents} >= set(range(1, 11))
    assert percents == sorted(percents) and percents[-1] == 100
    assert {int(total) for *_, total in progress} == {CLICKS}
    assert output.index("100%") < output.index("Seeded ")


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
        clicks = [event.click for event in events if event.click and not event.test]
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
    # First, Dub's "Send test event", which holds a click that is never counted.
    sender, body, count = deliveries[0]
    assert (sender, count) == ("dub", 0)
    assert [event.test for event in parser_for("dub")(body, ZoneInfo("UTC"))] == [True]


# --- bots and scanners ---------------------------------------------------------------------------

BOT_CLICKS = 4000


@pytest.fixture
def seeded_with_bots(db, monkeypatch) -> None:
    """A demo big enough for its rarer machines, at a fixed ``now``: the generator is then
    deterministic, so every reason's presence does not depend on the day the tests run."""
    # Only the command's own clock: intake and the rollups keep the real one.
    monkeypatch.setattr(seed_demo_command, "timezone", SimpleNamespace(now=lambda: NOW))
    call_command("seed_demo", clicks=BOT_CLICKS, days=30, stdout=io.StringIO())


def _sent_clicks() -> dict[tuple[str, str], ClickData]:
    """Every stored click as its sender sent it, from the deliveries' bodies: the user agents,
    full IPs and send times the click table does not keep."""
    sent = {}
    for delivery in Delivery.objects.filter(status=Delivery.Status.PROCESSED).select_related(
        "endpoint"
    ):
        parse = parser_for(delivery.endpoint.sender)
        for event in parse(bytes(delivery.body), ZoneInfo(delivery.endpoint.time_zone)):
            if event.click:
                sent[delivery.endpoint.sender, event.click.click_key] = event.click
    return sent


def _in_networks(ip: str, operators: Iterable[str]) -> bool:
    address = int(ipaddress.ip_address(ip))
    return any(
        first <= address < first + size
        for operator in operators
        for first, size in dd.MACHINE_NETWORKS[operator][1]
    )


def _intended_reason(sender: str, click: ClickData) -> str:
    """What the demo meant the click to be, from the demo's own tables, not intake's rules."""
    if sender == "heyoo":
        if click.is_bot:
            return BotReason.SENDER_FLAG
        if click.user_agent in {agent for agent, *_ in dd.CRAWLERS}:
            return BotReason.USER_AGENT
        if _in_networks(click.ip, dd.CLOUD_FETCHERS):
            return BotReason.DATACENTER_IP
    if sender == "woodpecker" and click.occurred_at - click.sent_at < READ_AFTER_MIN:
        # A gateway's scan: people read their mail minutes to days after it is sent.
        if click.occurred_at - click.sent_at <= timedelta(seconds=settings.BOT_SECONDS_AFTER_SEND):
            return BotReason.TOO_FAST_AFTER_SEND
        return BotReason.SCANNER_BURST
    return BotReason.HUMAN


def test_seed_demo_machines_get_every_reason_and_people_none(seeded_with_bots):
    clicks = Click.objects.all()
    reasons = Counter(clicks.values_list("bot_reason", flat=True))

    # Every reason the demo has machines for; none for scanner referers (no sender sends one).
    assert set(reasons) == {
        BotReason.HUMAN,
        BotReason.SENDER_FLAG,
        BotReason.USER_AGENT,
        BotReason.DATACENTER_IP,
        BotReason.SCANNER_BURST,
        BotReason.TOO_FAST_AFTER_SEND,
    }
    assert 0.03 <= clicks.filter(is_bot=True).count() / clicks.count() <= 0.15
    # Dub drops bots itself; its app deep links (okhttp) are people.
    assert not clicks.filter(sender="dub", is_bot=True).exists()
    sent = _sent_clicks()
    assert any(click.user_agent.startswith("okhttp/") for click in sent.values())
    stored = {
        (sender, key): reason
        for sender, key, reason in clicks.values_list("sender", "click_key", "bot_reason")
    }
    assert stored.keys() == sent.keys()
    # Each Dub, Heyoo and Woodpecker click has exactly the reason the demo meant: no person is
    # flagged (an address in the datacenter list, a UA CrawlerDetect knows), no machine missed.
    intended = {
        (sender, key): _intended_reason(sender, click)
        for (sender, key), click in sent.items()
        if sender != "opptima"
    }
    wrong = {
        key: (stored[key], reason) for key, reason in intended.items() if stored[key] != reason
    }
    assert wrong == {}
    # Opptima gives no send time; scanners only reach subscribers who read at work.
    opptima = [
        (click.recipient.email.split("@")[1], stored[sender, key])
        for (sender, key), click in sent.items()
        if sender == "opptima"
    ]
    assert {reason for _, reason in opptima} == {BotReason.HUMAN, BotReason.SCANNER_BURST}
    assert {reason for domain, reason in opptima if domain in dd.MAIL_DOMAINS} == {""}


def test_seed_demo_sends_dubs_test_event_once_and_never_counts_it(seeded):
    test = Delivery.objects.get(status=Delivery.Status.TEST)

    assert test.endpoint.sender == "dub"
    assert test.clicks_created == 0
    assert b"yNrYm0F6r1KMnq6N" in bytes(test.body)
    assert not Click.objects.filter(external_id="yNrYm0F6r1KMnq6N").exists()
    assert not Link.objects.filter(key="track-test").exists()
