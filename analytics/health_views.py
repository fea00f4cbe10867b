"""Staff pages about the service itself rather than the clicks: intake health."""

from datetime import timedelta

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from analytics import spool
from analytics.intake_health import endpoint_health, format_duration


# As the admin does: anyone not signed in as active staff goes to the admin's sign-in page.
@staff_member_required
def intake_health(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    # Read once for both the per-endpoint figures and the host total, which also counts
    # deliveries of endpoints deleted since.
    spooled = spool.pending_by_endpoint()
    context = {
        "endpoints": endpoint_health(now, spooled),
        "spooled_total": sum(spooled.values()),
        "now": now,
        "silence_hours": settings.INTAKE_SILENCE_HOURS,
        "backlog_limit": format_duration(
            timedelta(seconds=settings.INTAKE_BACKLOG_WARNING_SECONDS)
        ),
    }
    return render(request, "analytics/intake_health.html", context)
