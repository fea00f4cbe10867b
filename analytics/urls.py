from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from analytics import (
    api,
    api_docs,
    campaign_views,
    health_views,
    live_views,
    saved_view_views,
    share_views,
    views,
    webhooks,
)
from analytics.api_clicks import CampaignListView, ClickListView
from analytics.api_errors import database_unavailable_as_503
from analytics.report_views import clicks_csv, report_csv, report_zip

urlpatterns = [
    path("webhooks/<str:sender>/<str:token>/", webhooks.receive_webhook, name="webhook"),
    # Also without the slash: APPEND_SLASH would answer with a redirect, losing the POST body.
    path("webhooks/<str:sender>/<str:token>", webhooks.receive_webhook),
    path("", RedirectView.as_view(pattern_name="dashboard"), name="home"),
    # Browsers ask for /favicon.ico on pages that name no icon (a 404 in the console otherwise).
    path("favicon.ico", RedirectView.as_view(url=static("analytics/favicon.svg")), name="favicon"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/unify/", campaign_views.unify, name="campaigns-unify"),
    path("campaigns/unify/new/", campaign_views.create_canonical, name="canonical-campaign-new"),
    path(
        "campaigns/unify/<int:pk>/rename/",
        campaign_views.rename_canonical,
        name="canonical-campaign-rename",
    ),
    path(
        "campaigns/unify/<int:pk>/delete/",
        campaign_views.delete_canonical,
        name="canonical-campaign-delete",
    ),
    path("campaigns/unify/rules/new/", campaign_views.rule, name="campaign-rule-new"),
    path("campaigns/unify/rules/<int:pk>/", campaign_views.rule, name="campaign-rule"),
    path(
        "campaigns/unify/rules/<int:pk>/delete/",
        campaign_views.delete_rule,
        name="campaign-rule-delete",
    ),
    path(
        "campaigns/unify/rules/<int:pk>/move/", campaign_views.move_rule, name="campaign-rule-move"
    ),
    path(
        "campaigns/unify/suggestions/accept/",
        campaign_views.accept_suggestion,
        name="campaign-suggestion-accept",
    ),
    path("breakdown/<str:dimension>/", views.breakdown_page, name="breakdown_page"),
    path("intake/", health_views.intake_health, name="intake-health"),
    path("live/", live_views.live_page, name="live"),
    path("api/stats/live/", live_views.LiveView.as_view(), name="api-stats-live"),
    path("api/stats/page/", api.PageView.as_view(), name="api-stats-page"),
    path("api/stats/summary/", api.SummaryView.as_view(), name="api-stats-summary"),
    path("api/stats/timeseries/", api.TimeseriesView.as_view(), name="api-stats-timeseries"),
    path(
        "api/stats/breakdown/<str:dimension>/",
        api.BreakdownView.as_view(),
        name="api-stats-breakdown",
    ),
    path("views/", saved_view_views.saved_views, name="saved-views"),
    path("views/<int:pk>/", saved_view_views.saved_view, name="saved-view"),
    path("views/<int:pk>/delete/", saved_view_views.delete_view, name="saved-view-delete"),
    path(
        "views/<int:pk>/links/", saved_view_views.create, {"kind": "link"}, name="shared-link-new"
    ),
    path("views/<int:pk>/reports/", saved_view_views.create, {"kind": "report"}, name="report-new"),
    path("views/<int:pk>/alerts/", saved_view_views.create, {"kind": "alert"}, name="alert-new"),
    path("links/<int:pk>/revoke/", saved_view_views.revoke_link, name="shared-link-revoke"),
    path(
        "reports/<int:pk>/delete/",
        saved_view_views.delete,
        {"kind": "report"},
        name="report-delete",
    ),
    path(
        "reports/<int:pk>/preview.<str:kind>",
        saved_view_views.report_preview,
        name="report-preview",
    ),
    path(
        "alerts/<int:pk>/delete/", saved_view_views.delete, {"kind": "alert"}, name="alert-delete"
    ),
    # Shared links: a read-only dashboard and the only API it calls, by token, no sign-in.
    path("s/<str:token>/", share_views.dashboard, name="share-dashboard"),
    path("s/<str:token>/api/page/", share_views.page, name="share-page"),
    path("s/<str:token>/api/summary/", share_views.summary, name="share-summary"),
    path("s/<str:token>/api/timeseries/", share_views.timeseries, name="share-timeseries"),
    path(
        "s/<str:token>/api/breakdown/<str:dimension>/",
        share_views.breakdown,
        name="share-breakdown",
    ),
    path("export/clicks.csv", clicks_csv, name="export-clicks"),
    path("export/report.csv", report_csv, name="export-report"),
    path("export/report.zip", report_zip, name="export-report-zip"),
    path("api/clicks/", ClickListView.as_view(), name="api-clicks"),
    path("api/campaigns/", CampaignListView.as_view(), name="api-campaigns"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A page for people: anonymous visitors sign in first (the schema it loads needs a session).
    # Reading the session needs the database: 503 like the rest of /api/ while it is away.
    path(
        "api/docs/",
        database_unavailable_as_503(
            login_required(api_docs.SwaggerView.as_view(url_name="api-schema"))
        ),
        name="api-docs",
    ),
]
