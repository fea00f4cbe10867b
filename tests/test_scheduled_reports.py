"""Scheduled reports: one e-mail per schedule and period, whatever runs the scheduler how often,
in how many processes, across restarts; and what the e-mail holds."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection

from analytics import report_email, scheduling
from analytics.models import ReportDelivery, ReportSchedule, SavedView
from tests.test_concurrency import at_once

# A Wednesday; the last closed week is Monday Nov 23 to Sunday Nov 29, 2026.
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
CREATED = datetime(2026, 11, 23, 8, tzinfo=UTC)  # during the week first reported


@pytest.fixture
def view(marketer, make_campaign, make_click):
    spring = make_campaign("Spring sale")
    other = make_campaign("Other")
    for day in (23, 24, 24, 29):
        make_click(datetime(2026, 11, day, 12, tzinfo=UTC), campaign=spring, country="DE")
    make_click(datetime(2026, 11, 17, 12, tzinfo=UTC), campaign=spring, country="FR")
    make_click(datetime(2026, 11, 24, 12, tzinfo=UTC), campaign=other, country="US")
    return SavedView.objects.create(
        name="Spring", owner=marketer, query=f"range=30d&tz=UTC&campaign={spring.canonical_id}"
    )


@pytest.fixture
def weekly(view):
    return ReportSchedule.objects.create(
        saved_view=view,
        frequency=ReportSchedule.Frequency.WEEKLY,
        recipients="boss@client.example, ana@example.com",
        created_at=CREATED,
    )


def test_weekly_period_is_the_last_whole_week_in_the_views_zone(weekly):
    weekly.saved_view.query = "range=30d&tz=America/New_York"

    start, end = weekly.last_closed_period(NOW)

    zone = ZoneInfo("America/New_York")
    assert (start, end) == (
        datetime(2026, 11, 23, tzinfo=zone),
        datetime(2026, 11, 30, tzinfo=zone),
    )


def test_monthly_period_is_the_last_whole_month(weekly):
    weekly.frequency = ReportSchedule.Frequency.MONTHLY

    assert weekly.last_closed_period(NOW) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_a_pass_sends_the_closed_period_once(weekly):
    scheduling.run(NOW)

    delivery = ReportDelivery.objects.get()
    assert (delivery.status, delivery.period_start) == (
        ReportDelivery.Status.SENT,
        datetime(2026, 11, 23, tzinfo=UTC),
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["boss@client.example", "ana@example.com"]


def test_later_passes_and_restarts_do_not_send_the_period_again(weekly):
    scheduling.run(NOW)
    for minutes in range(1, 6):
        scheduling.run(NOW + timedelta(minutes=minutes))
    scheduling.run(NOW + timedelta(days=4))

    assert ReportDelivery.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_next_period_is_sent_when_it_closes(weekly):
    scheduling.run(NOW)

    scheduling.run(NOW + timedelta(days=5))

    assert ReportDelivery.objects.count() == 2
    assert len(mail.outbox) == 2


def test_a_period_that_ended_before_the_schedule_existed_is_not_sent(weekly):
    weekly.created_at = datetime(2026, 12, 1, tzinfo=UTC)
    weekly.save()

    scheduling.run(NOW)

    assert not ReportDelivery.objects.exists()
    assert mail.outbox == []


def test_a_paused_schedule_sends_nothing(weekly):
    weekly.is_active = False
    weekly.save()

    scheduling.run(NOW)

    assert mail.outbox == []


def test_a_failed_send_is_kept_and_retried_later(weekly, settings, monkeypatch):
    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    scheduling.run(NOW)
    delivery = ReportDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (ReportDelivery.Status.PENDING, 1)
    assert "mail server down" in delivery.error
    monkeypatch.undo()

    scheduling.run(NOW + timedelta(minutes=1))  # before the retry is due
    assert mail.outbox == []
    scheduling.run(NOW + scheduling.retry_delay(1))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")
    assert len(mail.outbox) == 1


def test_a_send_that_keeps_failing_is_marked_failed(weekly, monkeypatch):
    monkeypatch.setattr(
        "django.core.mail.EmailMessage.send", lambda self, fail_silently=False: 1 / 0
    )
    at = NOW
    for attempt in range(1, scheduling.MAX_ATTEMPTS + 1):
        scheduling.run(at)
        at += scheduling.retry_delay(attempt)

    delivery = ReportDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", scheduling.MAX_ATTEMPTS)


@pytest.mark.django_db(transaction=True)
def test_two_scheduler_threads_at_once_send_one_email(weekly):
    at_once(lambda: scheduling.run(NOW), lambda: scheduling.run(NOW))

    assert ReportDelivery.objects.get().status == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_scheduler_processes_and_a_restart_send_one_email(weekly, tmp_path):
    """Real processes (`manage.py scheduler_pass`) on the test database, e-mails to files."""
    outbox = tmp_path / "outbox"
    env = _process_env(outbox)
    command = [sys.executable, "manage.py", "scheduler_pass"]
    cwd = Path(django_settings.BASE_DIR)
    # Made during the last whole week (whatever today is): that week, and only it, is due.
    start, _ = weekly.last_closed_period(datetime.now(UTC))
    weekly.created_at = start + timedelta(minutes=1)
    weekly.save()

    both = [subprocess.Popen(command, cwd=cwd, env=env) for _ in range(2)]
    assert [process.wait(timeout=120) for process in both] == [0, 0]
    restarted = subprocess.run(command, cwd=cwd, env=env, timeout=120)

    assert restarted.returncode == 0
    assert ReportDelivery.objects.get().status == "sent"
    assert len(list(outbox.iterdir())) == 1


def _process_env(outbox: Path) -> dict[str, str]:
    db = connection.settings_dict
    host = quote(db["HOST"] or "localhost", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return os.environ | {
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }


def test_report_email_has_numbers_tops_chart_and_csvs(weekly):
    scheduling.run(NOW)

    email = mail.outbox[0]
    html = email.alternatives[0].content
    assert email.subject == "Spring: Nov 23, 2026 to Nov 29, 2026 in clicks"
    # 4 clicks of Spring that week; 1 the week before.
    assert "Clicks: 4 (+300% on the period before)" in email.body
    assert "1. Spring sale" in email.body and "Other" not in email.body
    assert "Germany: 4 clicks (100.0%)" in email.body
    assert 'src="cid:clicks-chart"' in html
    names = [attachment[0] for attachment in email.attachments]
    assert names == [
        "summary-2026-11-23-to-2026-11-29.csv",
        "days-2026-11-23-to-2026-11-29.csv",
        "campaign-2026-11-23-to-2026-11-29.csv",
    ]
    message = email.message()
    related = [part for part in message.walk() if part.get_content_type() == "multipart/related"]
    assert len(related) == 1
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<clicks-chart>"
    assert image.get_payload(decode=True).startswith(b"\x89PNG")


def test_monthly_report_compares_with_the_month_before(weekly):
    weekly.frequency = ReportSchedule.Frequency.MONTHLY
    weekly.save()

    f = report_email.report_filter(weekly, datetime(2026, 11, 1, tzinfo=UTC), NOW)

    assert (f.previous_start, f.previous_end) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_the_scheduler_task_runs_every_minute():
    from procrastinate.contrib.django import app

    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}

    assert periodic["scheduler-pass"].cron == "* * * * *"
    assert periodic["scheduler-pass"].task.queueing_lock == "scheduler-pass"


def test_a_view_whose_campaign_is_gone_holds_up_no_other_report(weekly, marketer):
    broken = SavedView.objects.create(name="Gone", owner=marketer, query="campaign=999999")
    ReportSchedule.objects.create(
        saved_view=broken, frequency="weekly", recipients="a@example.com", created_at=CREATED
    )

    scheduling.run(NOW)

    assert [email.subject.split(":")[0] for email in mail.outbox] == ["Spring"]


def test_a_scheduler_back_from_downtime_sends_every_missed_period_once(weekly):
    scheduling.run(NOW)

    scheduling.run(NOW + timedelta(days=21))  # down for three whole weeks

    starts = [d.period_start.date() for d in ReportDelivery.objects.order_by("period_start")]
    assert [f"{day:%m-%d}" for day in starts] == ["11-23", "11-30", "12-07", "12-14"]
    assert len(mail.outbox) == 4


def test_moving_the_view_to_another_zone_does_not_send_the_week_again(weekly):
    scheduling.run(NOW)
    view = weekly.saved_view
    view.query = view.query.replace("tz=UTC", "tz=America/Los_Angeles")
    view.save()

    scheduling.run(NOW + timedelta(hours=1))

    assert ReportDelivery.objects.count() == 1
    assert len(mail.outbox) == 1
