"""Who may see analytics: the Marketer group's permission (staff and superusers have it too)."""

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
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


# Changing how campaigns are unified (rules, canonical campaigns) re-maps every dashboard's
# campaign numbers: staff, or people given this permission (a team lead, say) in the admin.
CAMPAIGN_RULES_PERMISSION = "analytics.change_campaignrule"


def can_unify_campaigns(user: "AbstractBaseUser | AnonymousUser") -> bool:
    return user.is_staff or user.has_perm(CAMPAIGN_RULES_PERMISSION)


def campaign_editor(view: View) -> View:
    """For the writes of the campaigns page: an analytics page whose user may also change
    rules (403 otherwise)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not can_unify_campaigns(request.user):
            raise PermissionDenied("Only staff or people allowed to change campaign rules may.")
        return view(request, *args, **kwargs)

    return analytics_page(wrapper)
