"""Who may see analytics: the Marketer group's permission (staff and superusers have it too)."""

from typing import TYPE_CHECKING

from django.http import HttpRequest
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
