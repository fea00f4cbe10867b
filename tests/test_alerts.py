"""Alerts on generated data: each rule fires once when its condition starts to hold, clears once
when it stops, and sends one e-mail for each, however often the scheduler passes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from analytics import alerts, scheduling
from analytics.models import AlertIncident, AlertRule, Delivery, SavedView, WebhookEndpoint
from tests.test_concurrency import at_once

# 14:10 UTC: the hour judged is 13:00 to 14:00, against the same hour a week before.
NOW = datetime(2026, 12, 2, 14, 10, tzinfo=UTC)
WEEK = timedelta(days=7)


@pytest.fixture
def view(marketer, make_campaign):
    spring = make_campaign("Spring sale")
    return SavedView.objects.create(
        name="Spring", owner=marketer, query=f"range=30d&tz=UTC&campaign={spring.canonical_id}"
    ), spring


@pytest.fixture
def clicks_in_hour(make_click, view):
    _, spring = view

    def make(hour_start: datetime, count: int, **fields: object) -> None:
        for i in range(count):
            make_click(hour_start + timedelta(seconds=30 * i), campaign=spring, **fields)

    return make


def _rule(view, kind: str, threshold: int, **fields: object) -> AlertRule:
    return AlertRule.objects.create(
        name=f"{kind} rule",
        kind=kind,
        threshold=threshold,
        saved_view=view[0],
        recipients="ops@example.com",
        created_at=NOW - timedelta(days=30),
        **fields,
    )


HOUR = datetime(2026, 12, 2, 13, tzinfo=UTC)


def test_drop_fires_once_and_clears_once(view, clicks_in_hour):
    _rule(view, AlertRule.Kind.CLICKS_DROP, 50)
    clicks_in_hour(HOUR - WEEK, 40)
    clicks_in_hour(HOUR, 10)  # 25% of last week's
    clicks_in_hour(HOUR + timedelta(hours=1) - WEEK, 40)
    clicks_in_hour(HOUR + timedelta(hours=1), 30)  # 75%: back to normal

    for minutes in range(0, 50, 5):  # every pass within the hour
        scheduling.run(NOW + timedelta(minutes=minutes))
    assert [m.subject for m in mail.outbox] == ["[Alert] clicks_drop rule"]
    assert "10 clicks" in mail.outbox[0].body and "25% of 40" in mail.outbox[0].body

    scheduling.run(NOW + timedelta(hours=1))
    scheduling.run(NOW + timedelta(hours=1, minutes=1))

    incident = AlertIncident.objects.get()
    assert incident.cleared_at == NOW + timedelta(hours=1)
    assert [m.subject for m in mail.outbox] == [
        "[Alert] clicks_drop rule",
        "[Resolved] clicks_drop rule",
    ]
    assert mail.outbox[1].to == ["ops@example.com"]


def test_drop_ignores_other_campaigns_and_bots(view, clicks_in_hour, make_click, make_campaign):
    _rule(view, AlertRule.Kind.CLICKS_DROP, 50)
    clicks_in_hour(HOUR - WEEK, 20)
    clicks_in_hour(HOUR, 5)
    clicks_in_hour(HOUR, 30, is_bot=True)
    other = make_campaign("Other")
    for i in range(30):
        make_click(HOUR + timedelta(seconds=i), campaign=other)

    scheduling.run(NOW)

    assert AlertIncident.objects.count() == 1


def test_drop_is_not_judged_on_a_quiet_hour(view, clicks_in_hour):
    _rule(view, AlertRule.Kind.CLICKS_DROP, 50)
    clicks_in_hour(HOUR - WEEK, alerts.MIN_CLICKS - 1)

    scheduling.run(NOW)

    assert not AlertIncident.objects.exists()
    assert mail.outbox == []


def test_the_hour_is_judged_only_once_it_settled(view, clicks_in_hour):
    _rule(view, AlertRule.Kind.CLICKS_DROP, 50)
    clicks_in_hour(HOUR - WEEK, 40)

    scheduling.run(HOUR + timedelta(hours=1, minutes=2))  # 14:02: still judging 12:00-13:00

    assert not AlertIncident.objects.exists()


def test_spike_fires_above_the_threshold(view, clicks_in_hour):
    _rule(view, AlertRule.Kind.CLICKS_SPIKE, 200)
    clicks_in_hour(HOUR - WEEK, 10)
    clicks_in_hour(HOUR, 25)

    scheduling.run(NOW)

    assert "250% of 10" in AlertIncident.objects.get().opened_detail
    assert [m.subject for m in mail.outbox] == ["[Alert] clicks_spike rule"]


def test_bot_share_fires_and_clears(view, clicks_in_hour):
    _rule(view, AlertRule.Kind.BOT_SHARE, 30)
    clicks_in_hour(HOUR, 6)
    clicks_in_hour(HOUR, 4, is_bot=True)  # 40%
    clicks_in_hour(HOUR + timedelta(hours=1), 19)
    clicks_in_hour(HOUR + timedelta(hours=1), 1, is_bot=True)  # 5%

    scheduling.run(NOW)
    scheduling.run(NOW + timedelta(hours=1))

    incident = AlertIncident.objects.get()
    assert "4 of the 10 clicks" in incident.opened_detail
    assert incident.cleared_at is not None
    assert len(mail.outbox) == 2


def test_no_delivery_fires_after_n_hours_and_clears_on_a_delivery(view):
    endpoint = WebhookEndpoint.objects.create(sender="dub", name="Dub production")
    Delivery.objects.create(endpoint=endpoint, received_at=NOW - timedelta(hours=7), body=b"{}")
    _rule(view, AlertRule.Kind.NO_DELIVERY, 6, endpoint=endpoint)

    scheduling.run(NOW)
    assert "Dub production" in mail.outbox[0].body
    Delivery.objects.create(endpoint=endpoint, received_at=NOW + timedelta(minutes=3), body=b"{}")
    scheduling.run(NOW + timedelta(minutes=4))

    assert [m.subject for m in mail.outbox] == [
        "[Alert] no_delivery rule",
        "[Resolved] no_delivery rule",
    ]


def test_an_incident_that_opens_and_clears_between_sends_sends_both_in_order(view, clicks_in_hour):
    rule = _rule(view, AlertRule.Kind.BOT_SHARE, 30)
    alerts.apply(rule, alerts.Reading(True, "40% bots"), NOW)
    alerts.apply(rule, alerts.Reading(False, "5% bots"), NOW + timedelta(minutes=1))

    alerts.send_waiting(NOW + timedelta(minutes=2))

    assert [m.subject.split()[0] for m in mail.outbox] == ["[Alert]", "[Resolved]"]


def test_a_new_incident_opens_after_one_cleared(view):
    rule = _rule(view, AlertRule.Kind.BOT_SHARE, 30)
    for minute, holds in enumerate([True, False, True]):
        alerts.apply(rule, alerts.Reading(holds, "x"), NOW + timedelta(minutes=minute))

    assert rule.incidents.count() == 2
    assert rule.open_incident() is not None


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_open_one_incident_and_send_one_email(view, clicks_in_hour):
    _rule(view, AlertRule.Kind.CLICKS_DROP, 50)
    clicks_in_hour(HOUR - WEEK, 40)

    at_once(lambda: scheduling.run(NOW), lambda: scheduling.run(NOW))

    assert AlertIncident.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_failed_alert_email_is_sent_on_a_later_pass(view, clicks_in_hour, monkeypatch):
    _rule(view, AlertRule.Kind.CLICKS_DROP, 50)
    clicks_in_hour(HOUR - WEEK, 40)
    monkeypatch.setattr(
        "django.core.mail.EmailMessage.send", lambda self, fail_silently=False: 1 / 0
    )
    scheduling.run(NOW)
    assert AlertIncident.objects.get().opened_sent_at is None
    monkeypatch.undo()

    scheduling.run(NOW + timedelta(minutes=1))

    assert AlertIncident.objects.get().opened_sent_at is not None
    assert len(mail.outbox) == 1


def test_alert_email_has_html_and_text(view, clicks_in_hour):
    _rule(view, AlertRule.Kind.CLICKS_DROP, 50)
    clicks_in_hour(HOUR - WEEK, 40)

    scheduling.run(NOW)

    email = mail.outbox[0]
    html = email.alternatives[0].content
    assert "Clicks per hour in Spring below 50% of the same hour last week" in email.body
    assert "0 clicks Dec 2, 13:00\u201314:00 (UTC), 0% of 40" in html
    assert "/views/" in email.body


@pytest.mark.parametrize(
    ("kind", "threshold", "field"),
    [
        (AlertRule.Kind.CLICKS_DROP, 120, "threshold"),
        (AlertRule.Kind.CLICKS_SPIKE, 90, "threshold"),
        (AlertRule.Kind.BOT_SHARE, 100, "threshold"),
        (AlertRule.Kind.NO_DELIVERY, 5, "endpoint"),
    ],
)
def test_rules_refuse_thresholds_that_cannot_mean_anything(view, kind, threshold, field):
    rule = AlertRule(
        name="x", kind=kind, threshold=threshold, saved_view=view[0], recipients="a@example.com"
    )

    with pytest.raises(ValidationError) as error:
        rule.full_clean()

    assert field in error.value.message_dict


def test_same_hour_last_week_is_wall_clock_time_across_a_clock_change(marketer, make_click):
    """Berlin moved to summer time on Sunday March 29, 2026: 10:00 local was 09:00 UTC the week
    before and 08:00 UTC after."""
    view = SavedView.objects.create(name="Berlin", owner=marketer, query="tz=Europe/Berlin")
    rule = _rule((view,), AlertRule.Kind.CLICKS_DROP, 50)
    for i in range(20):
        make_click(datetime(2026, 3, 24, 9, i, tzinfo=UTC))  # Tuesday 10:xx CET
        make_click(datetime(2026, 3, 31, 8, i, tzinfo=UTC))  # Tuesday 10:xx CEST

    reading = alerts.measure(rule, datetime(2026, 3, 31, 9, 10, tzinfo=UTC))

    assert not reading.holds
    assert "20 clicks Mar 31, 10:00\u201311:00 (Europe/Berlin), 100% of 20" in reading.detail
