"""Report e-mails: a saved view's week or month in numbers, as HTML and plain text, with the
chart inline and the CSVs attached. The preview page renders the same templates."""

import base64
from dataclasses import replace
from datetime import datetime, timedelta
from email.mime.image import MIMEImage

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from analytics import exports, stats
from analytics.filters import ClickFilter
from analytics.periods import midnight, shift_months
from analytics.report_chart import clicks_chart
from analytics.report_models import ReportSchedule
from analytics.sharing_models import site_url

CHART_CID = "clicks-chart"
TOP_ROWS = 5
TOP_LISTS = (
    ("campaign", "Top campaigns"),
    ("country", "Top countries"),
    ("referer", "Top referers"),
)


class _RelatedEmail(EmailMultiAlternatives):
    """Text and HTML alternatives, and the images the HTML shows, in one multipart/related part,
    so clients show the chart in the message and the CSVs as attachments beside it."""

    def __init__(self, *args: object, inline_images: list[MIMEImage], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.inline_images = inline_images

    def _create_alternatives(self, msg):  # noqa: ANN001, ANN202 (Django's private hook)
        msg = super()._create_alternatives(msg)
        if not self.inline_images:
            return msg
        from django.core.mail.message import SafeMIMEMultipart

        related = SafeMIMEMultipart(_subtype="related", encoding=self.encoding)
        related.attach(msg)
        for image in self.inline_images:
            related.attach(image)
        return related


def report_filter(schedule: ReportSchedule, start: datetime, now: datetime) -> ClickFilter:
    """The view's filter over the period starting at ``start``: every day of it, by day; a
    monthly report compares with the month before, a weekly one with the week before."""
    tz = schedule.zone()
    first = start.astimezone(tz).date()
    if schedule.frequency == ReportSchedule.Frequency.MONTHLY:
        last = shift_months(first, 1) - timedelta(days=1)
    else:
        last = first + timedelta(days=6)
    period = {"range": "custom", "from": first.isoformat(), "to": last.isoformat()}
    f = schedule.saved_view.click_filter(now=now, **period, bucket="day")
    if schedule.frequency == ReportSchedule.Frequency.MONTHLY:
        f = replace(f, previous_start=midnight(shift_months(first, -1), tz), previous_end=f.start)
    return f


def report_context(schedule: ReportSchedule, start: datetime, now: datetime) -> dict[str, object]:
    f = report_filter(schedule, start, now)
    summary = stats.summary(f)
    series = stats.timeseries(f)
    current, change = summary["current"], summary["change"]
    view = schedule.saved_view
    last_day = (f.end - timedelta(days=1)).astimezone(f.tz).date()
    return {
        "view": view,
        "schedule": schedule,
        "period_label": f.label,
        "first_day": f.start.astimezone(f.tz).date(),
        "last_day": last_day,
        "headline": [
            _figure("Clicks", current["clicks"], change["clicks"]),
            _figure("Unique clicks", current["unique"], change["unique"]),
            _figure(
                "Bots and scanners" + (" (included)" if f.counts_bots else " (filtered out)"),
                current["bots"],
                change["bots"],
            ),
            {"label": "QR share", "value": f"{current['qr_share']:.1%}", "change": ""},
        ],
        "tops": [
            {"title": title, "rows": _top_rows(f, dimension)} for dimension, title in TOP_LISTS
        ],
        "chart": {
            "days": [datetime.fromisoformat(p["t"]).date() for p in series["current"]],
            "clicks": [p["clicks"] for p in series["current"]],
            "previous": [p["clicks"] for p in series["previous"]],
        },
        "dashboard_url": site_url(f"{reverse('dashboard')}?{f.querystring()}"),
        "manage_url": site_url(view.get_manage_url()),
        "filter": f,
    }


def render(context: dict[str, object], chart_src: str) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a report; ``chart_src`` is where the HTML finds the PNG."""
    subject = " ".join(f"{context['view']}: {context['period_label']} in clicks".split())
    text = render_to_string("emails/report.txt", context)
    html = render_to_string("emails/report.html", context | {"chart_src": chart_src})
    return subject, text, html


def chart_png(context: dict[str, object]) -> bytes:
    chart = context["chart"]
    return clicks_chart(chart["days"], chart["clicks"], chart["previous"])


def preview(schedule: ReportSchedule, start: datetime, now: datetime) -> tuple[str, str, str]:
    """The report as the e-mail shows it, the chart inline as a data: URL (for a browser)."""
    context = report_context(schedule, start, now)
    data = base64.b64encode(chart_png(context)).decode()
    return render(context, f"data:image/png;base64,{data}")


def message(
    schedule: ReportSchedule, start: datetime, now: datetime, recipients: list[str]
) -> EmailMultiAlternatives:
    context = report_context(schedule, start, now)
    subject, text, html = render(context, f"cid:{CHART_CID}")
    image = MIMEImage(chart_png(context), "png")
    image.add_header("Content-ID", f"<{CHART_CID}>")
    image.add_header("Content-Disposition", "inline", filename="clicks.png")
    email = _RelatedEmail(subject, text, to=recipients, inline_images=[image])
    email.attach_alternative(html, "text/html")
    f: ClickFilter = context["filter"]
    for report in ("summary", "timeseries", "campaign"):
        name = exports.download_name(report if report != "timeseries" else "days", f, "csv")
        email.attach(name, exports.report_csv(f, report), "text/csv")
    return email


def _top_rows(f: ClickFilter, dimension: str) -> list[dict[str, object]]:
    rows = stats.breakdown(f, dimension, TOP_ROWS)["rows"]
    return [row | {"percent": f"{row['share']:.1%}"} for row in rows]


def _figure(label: str, value: int, change: float | None) -> dict[str, str]:
    return {"label": label, "value": f"{value:,}", "change": _change_text(change)}


def _change_text(change: float | None) -> str:
    if change is None:
        return "none the period before"
    if change == 0:
        return "same as the period before"
    sign = "+" if change > 0 else "\u2212"
    return f"{sign}{abs(change):,.0%} on the period before"
