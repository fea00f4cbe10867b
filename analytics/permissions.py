"""Who may see analytics: the Marketer group's permission (staff and superusers have it too)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.views import APIView

DASHBOARD_PERMISSION = "analytics.view_dashboard"


class CanViewAnalytics(BasePermission):
    """Anonymous requests get 401 (token auth answers first), signed-in users without it 403."""

    message = "Your account may not view analytics; ask an admin to add you to Marketer."

    def has_permission(self, request: HttpRequest, view: "APIView") -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(DASHBOARD_PERMISSION))


View = Callable[..., HttpResponse]


def analytics_page(view: View) -> View:
    """For pages and downloads: sign-in first (anonymous visitors go to the login page), then
    the Marketer permission (403 without it)."""
    return login_required(permission_required(DASHBOARD_PERMISSION, raise_exception=True)(view))
