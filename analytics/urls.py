from django.urls import path, re_path
from django.views.generic import RedirectView

from analytics import api, views, webhooks

urlpatterns = [
    # The trailing slash is optional: a redirect would lose the POST body.
    re_path(
        r"^webhooks/(?P<sender>[^/]+)/(?P<token>[^/]+)/?$",
        webhooks.receive_webhook,
        name="webhook",
    ),
    path("", RedirectView.as_view(pattern_name="dashboard"), name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("breakdown/<str:dimension>/", views.breakdown_page, name="breakdown_page"),
    path("api/stats/summary/", api.SummaryView.as_view(), name="api-stats-summary"),
    path("api/stats/timeseries/", api.TimeseriesView.as_view(), name="api-stats-timeseries"),
    path(
        "api/stats/breakdown/<str:dimension>/",
        api.BreakdownView.as_view(),
        name="api-stats-breakdown",
    ),
]
