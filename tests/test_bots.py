"""Bot and scanner classification: each rule with real-shaped payloads, late evidence, the
reclassify command, and what the dashboard, the API and the CSV show of it."""

import copy
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.http import QueryDict
from django.utils import timezone

from analytics import bots, rollups, stats
from analytics.bot_reasons import BotReason
from analytics.filters import ClickFilter
from analytics.models import Click, PendingRollup, Rollup
from tests.conftest import js_json, payload, post_webhook

T0 = "2026-03-02T09:00:00+0100"
BURST = BotReason.SCANNER_BURST


def _prospect_click(url: str, at: str, **fields: object) -> dict:
    """A Woodpecker link_clicked event of the documented example, for its prospect."""
    item = copy.deepcopy(payload("woodpecker/link_clicked")[0])
    item.update(click_url=url, timestamp=at, **fields)
    return item


def _heyoo_click(**click: object) -> bytes:
    body = payload("heyoo/campaign_clicked")
    body["data"]["click"].update(click)
    return js_json(body)


def _reasons() -> list[tuple[str, str]]:
    return list(Click.objects.order_by("occurred_at", "url").values_list("url", "bot_reason"))


# --- scanner bursts -----------------------------------------------------------------------------


def test_a_prospect_clicking_three_links_in_one_second_is_a_scanner_and_later_a_person(
    client, woodpecker_endpoint
):
    # Delivered together, as Woodpecker sends an array: the mail gateway's sandbox follows every
    # link within a second of delivery; the prospect reads the e-mail two hours later.
    body = [
        _prospect_click("https://piedpiper.com/pricing", "2026-03-02T09:00:00.100+0100"),
        _prospect_click("https://piedpiper.com/demo", "2026-03-02T09:00:00.500+0100"),
        _prospect_click("https://piedpiper.com/unsubscribe", "2026-03-02T09:00:01.000+0100"),
        _prospect_click("https://piedpiper.com/pricing", "2026-03-02T11:00:00+0100"),
    ]
    post_webhook(client, woodpecker_endpoint, js_json(body))

    assert _reasons() == [
        ("https://piedpiper.com/pricing", "scanner_burst"),
        ("https://piedpiper.com/demo", "scanner_burst"),
        ("https://piedpiper.com/unsubscribe", "scanner_burst"),
        ("https://piedpiper.com/pricing", ""),
    ]
    assert Click.objects.filter(is_bot=True).count() == 3
    f = ClickFilter.from_query(QueryDict("range=all"))
    assert stats.summary(f)["current"]["clicks"] == 1
    assert stats.summary(f)["current"]["bots"] == 3


def test_the_same_link_clicked_twice_in_a_second_is_no_burst(client, woodpecker_endpoint):
    body = [
        _prospect_click("https://piedpiper.com/pricing", "2026-03-02T09:00:00.100+0100"),
        _prospect_click("https://piedpiper.com/pricing", "2026-03-02T09:00:00.600+0100"),
    ]
    post_webhook(client, woodpecker_endpoint, js_json(body))

    assert {reason for _, reason in _reasons()} == {""}


def test_two_prospects_clicking_at_the_same_moment_are_people(client, woodpecker_endpoint):
    other = copy.deepcopy(payload("woodpecker/link_clicked")[0]["prospect"])
    other.update(id=42, email="gilfoyle@piedpiper.com")
    body = [
        _prospect_click("https://piedpiper.com/pricing", T0),
        _prospect_click("https://piedpiper.com/demo", T0, prospect=other),
    ]
    post_webhook(client, woodpecker_endpoint, js_json(body))

    assert {reason for _, reason in _reasons()} == {""}


def test_the_second_click_of_a_burst_in_a_later_delivery_reclassifies_the_first(
    client, woodpecker_endpoint, settings
):
    settings.BOT_LATE_EVIDENCE_SECONDS = 60
    post_webhook(client, woodpecker_endpoint, js_json([_prospect_click("https://a.example/", T0)]))
    rollups.update()  # too early: the first click waits for late evidence
    assert PendingRollup.objects.count() == 1

    second = _prospect_click("https://b.example/", "2026-03-02T09:00:01+0100")
    post_webhook(client, woodpecker_endpoint, js_json([second]))

    assert _reasons() == [("https://a.example/", BURST), ("https://b.example/", BURST)]
    settings.BOT_LATE_EVIDENCE_SECONDS = 0
    assert rollups.update() == 2
    reasons = Rollup.objects.filter(dims=rollups.dims_key(("bot_reason",)), grain=Rollup.Grain.DAY)
    assert list(reasons.values_list("bot_reason", "is_bot", "clicks")) == [
        ("scanner_burst", True, 2)
    ]


def test_late_evidence_after_the_rollups_counted_a_click_leaves_it_for_reclassify(
    client, woodpecker_endpoint
):
    post_webhook(client, woodpecker_endpoint, js_json([_prospect_click("https://a.example/", T0)]))
    rollups.update()  # the window has passed (0 s in tests): the first click is counted human
    second = _prospect_click("https://b.example/", "2026-03-02T09:00:01+0100")
    post_webhook(client, woodpecker_endpoint, js_json([second]))

    # Reclassifying a counted click would make the rollups disagree with the clicks.
    assert _reasons() == [("https://a.example/", ""), ("https://b.example/", "scanner_burst")]
    f = ClickFilter.from_query(QueryDict("range=all&bots=include"))
    assert stats.breakdown(f, "bot_reason")["rows"][0]["clicks"] == 1

    out = StringIO()
    call_command("reclassify_clicks", stdout=out)

    assert _reasons() == [("https://a.example/", BURST), ("https://b.example/", BURST)]
    assert "2 clicks judged, 1 changed." in out.getvalue()
    rows = {r["value"]: r["clicks"] for r in stats.breakdown(f, "bot_reason")["rows"]}
    assert rows == {"scanner_burst": 2}
    settings_off = ClickFilter.from_query(QueryDict("range=all"))
    assert stats.summary(settings_off)["current"]["clicks"] == 0


def test_an_opptima_contact_clicking_two_links_at_once_is_a_scanner(client, opptima_endpoint):
    for destination, at in (("https://shop.example/a", "2026-03-02 09:00:00"),
                            ("https://shop.example/b", "2026-03-02 09:00:01")):  # fmt: skip
        body = payload("opptima/click")
        body.update(destination=destination, timestamp=at)
        post_webhook(client, opptima_endpoint, js_json(body))

    assert {reason for _, reason in _reasons()} == {"scanner_burst"}


# --- rules on the click alone -------------------------------------------------------------------


def test_a_click_right_after_woodpecker_sent_the_email_is_too_fast(client, woodpecker_endpoint):
    prospect = copy.deepcopy(payload("woodpecker/link_clicked")[0]["prospect"])
    prospect["last_contacted"] = "2026-03-02T08:59:55+0100"
    body = [_prospect_click("https://piedpiper.com/", T0, prospect=prospect)]
    post_webhook(client, woodpecker_endpoint, js_json(body))

    assert Click.objects.get().bot_reason == BotReason.TOO_FAST_AFTER_SEND


def test_a_click_an_hour_after_sending_is_a_person(client, woodpecker_endpoint):
    prospect = copy.deepcopy(payload("woodpecker/link_clicked")[0]["prospect"])
    prospect["last_contacted"] = "2026-03-02T08:00:00+0100"
    body = [_prospect_click("https://piedpiper.com/", T0, prospect=prospect)]
    post_webhook(client, woodpecker_endpoint, js_json(body))

    assert Click.objects.get().bot_reason == BotReason.HUMAN


def test_heyoo_bot_flag_is_the_senders_verdict(client, heyoo_endpoint):
    post_webhook(client, heyoo_endpoint, _heyoo_click(bot=True))

    click = Click.objects.get()
    assert (click.is_bot, click.bot_reason) == (True, BotReason.SENDER_FLAG)


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0.0.0",
        "python-requests/2.31.0",
        "curl/8.4.0",
    ],
)
def test_a_crawler_user_agent_is_a_bot(client, heyoo_endpoint, user_agent):
    post_webhook(client, heyoo_endpoint, _heyoo_click(ua=user_agent))

    assert Click.objects.get().bot_reason == BotReason.USER_AGENT


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/126.0.0.0 Mobile Safari/537.36",
        "",
    ],
)
def test_a_browser_user_agent_is_a_person(client, heyoo_endpoint, user_agent):
    post_webhook(client, heyoo_endpoint, _heyoo_click(ua=user_agent))

    assert Click.objects.get().bot_reason == BotReason.HUMAN


def test_a_datacenter_ip_is_a_bot(client, heyoo_endpoint):
    post_webhook(client, heyoo_endpoint, _heyoo_click(ip="52.234.41.119"))  # Microsoft Azure

    click = Click.objects.get()
    assert click.bot_reason == BotReason.DATACENTER_IP
    assert click.ip == "52.234.41.0"  # judged on the full address, stored truncated


def test_a_residential_ip_is_a_person(client, heyoo_endpoint):
    post_webhook(client, heyoo_endpoint, _heyoo_click(ip="81.2.69.142"))

    assert Click.objects.get().bot_reason == BotReason.HUMAN


def test_a_mail_scanner_referer_is_a_bot(client, heyoo_endpoint):
    referer = "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fheyoo.ai"
    post_webhook(client, heyoo_endpoint, _heyoo_click(referer="", refererUrl=referer))

    assert Click.objects.get().bot_reason == BotReason.SCANNER_REFERER


def test_dubs_own_verdict_stands_for_its_app_deep_links(client, dub_endpoint):
    # Dub drops bots itself but keeps deep links opened by apps (okhttp) and counts them; so
    # does clicktrack, or its numbers would disagree with Dub's dashboard.
    body = payload("dub/link_clicked_real")
    body["data"]["click"].update(ua="okhttp/4.12.0", ip="52.234.41.119")
    post_webhook(client, dub_endpoint, js_json(body))

    assert Click.objects.get().bot_reason == BotReason.HUMAN


def test_the_rules_in_order_first_match_wins(heyoo_endpoint):
    from analytics.senders import SENDERS
    from analytics.senders.base import ClickData

    now = timezone.now()
    spec = SENDERS["heyoo"]
    crawler_in_a_datacenter = ClickData(
        click_key="k", occurred_at=now, occurred_at_raw="", user_agent="Googlebot/2.1",
        ip="52.234.41.119",
    )  # fmt: skip
    assert bots.reason(spec, crawler_in_a_datacenter) == BotReason.USER_AGENT
    flagged = ClickData(click_key="k", occurred_at=now, occurred_at_raw="", is_bot=True)
    assert bots.reason(spec, flagged) == BotReason.SENDER_FLAG


def test_the_datacenter_list_reads_a_configured_file(settings, tmp_path):
    listed = tmp_path / "ranges.txt"
    listed.write_text("# test networks\n198.51.100.0/24\n2001:db8::/32\n")
    settings.BOT_DATACENTER_IP_FILES = [listed]
    bots._datacenter_networks.cache_clear()
    try:
        assert bots.is_datacenter_ip("198.51.100.77")
        assert bots.is_datacenter_ip("2001:db8::1")
        assert not bots.is_datacenter_ip("198.51.101.1")
        assert not bots.is_datacenter_ip("not an ip")
    finally:
        bots._datacenter_networks.cache_clear()


# --- reclassifying stored clicks ----------------------------------------------------------------


def test_reclassify_applies_changed_rules_and_rebuilds_the_rollups(
    client, heyoo_endpoint, settings, tmp_path
):
    post_webhook(client, heyoo_endpoint, _heyoo_click(ip="198.51.100.77"))
    rollups.update()
    assert Click.objects.get().bot_reason == BotReason.HUMAN

    listed = tmp_path / "ranges.txt"
    listed.write_text("198.51.100.0/24\n")
    settings.BOT_DATACENTER_IP_FILES = [listed]
    bots._datacenter_networks.cache_clear()
    try:
        out = StringIO()
        call_command("reclassify_clicks", "--dry-run", stdout=out)
        assert "1 clicks judged, 1 would change." in out.getvalue()
        assert Click.objects.get().bot_reason == BotReason.HUMAN

        call_command("reclassify_clicks", stdout=StringIO())
    finally:
        bots._datacenter_networks.cache_clear()

    click = Click.objects.get()
    assert (click.is_bot, click.bot_reason) == (True, BotReason.DATACENTER_IP)
    f = ClickFilter.from_query(QueryDict("range=all"))
    assert stats.summary(f)["current"]["clicks"] == 0
    settings.STATS_USE_ROLLUPS = False
    assert stats.summary(f)["current"]["clicks"] == 0


def test_reclassify_refuses_a_backwards_range():
    with pytest.raises(Exception, match="--until must be on or after --since"):
        call_command("reclassify_clicks", "--since", "2026-03-02", "--until", "2026-03-01")


# --- what marketers see -------------------------------------------------------------------------


def test_the_bots_card_splits_by_reason_whatever_the_bot_toggle(make_click):
    now = timezone.now() - timedelta(hours=1)
    make_click(now)
    make_click(now, bot_reason=BotReason.SCANNER_BURST)
    make_click(now, bot_reason=BotReason.SCANNER_BURST)
    make_click(now, bot_reason=BotReason.USER_AGENT)
    rollups.update()

    for query in ("range=7d", "range=7d&bots=include"):
        rows = stats.breakdown(ClickFilter.from_query(QueryDict(query)), "bot_reason")["rows"]
        assert [(r["value"], r["label"], r["clicks"]) for r in rows] == [
            ("scanner_burst", "Scanner burst", 2),
            ("", "Human", 1),
            ("user_agent", "Crawler user agent", 1),
        ]


def test_filtering_by_a_reason_counts_those_bots(make_click):
    now = timezone.now() - timedelta(hours=1)
    make_click(now)
    make_click(now, bot_reason=BotReason.SCANNER_BURST)

    f = ClickFilter.from_query(QueryDict("range=7d&bot_reason=scanner_burst"))

    assert stats.summary(f)["current"]["clicks"] == 1


@pytest.mark.django_db(transaction=True)  # the CSV is written by COPY on its own connection
def test_the_api_and_the_csv_carry_the_bot_reason(marketer_client, make_click):
    make_click(timezone.now() - timedelta(hours=1), bot_reason=BotReason.DATACENTER_IP)

    api = marketer_client.get("/api/clicks/?range=7d&bots=include")
    csv = marketer_client.get("/export/clicks.csv?range=7d&bots=include")
    breakdown = marketer_client.get("/api/stats/breakdown/bot_reason/?range=7d")

    assert api.status_code == 200
    assert api.json()["results"][0]["bot_reason"] == "datacenter_ip"
    header, row = b"".join(csv.streaming_content).decode().splitlines()[:2]
    assert row.split(",")[header.split(",").index("bot_reason")] == "datacenter_ip"
    assert breakdown.json()["rows"][0] == {
        "value": "datacenter_ip",
        "label": "Datacenter IP",
        "clicks": 1,
        "unique": 1,
        "share": 1.0,
    }


def test_a_bad_bot_reason_filter_is_refused(marketer_client):
    response = marketer_client.get("/api/stats/summary/?bot_reason=robot")

    assert response.status_code == 400
    assert "bot_reason" in response.json()["detail"]
