"""The clicktrack admin, for staff: one module per area, each registering its models.

Clicks, campaigns, links and contacts are read-only (intake writes them); deliveries may only
have a failed body repaired; staff create and edit webhook endpoints, and canonical campaigns
and their rules (which re-map the campaigns on every change).
"""

from django.contrib import admin

from analytics.admin import canonical, catalog, clicks, deliveries, endpoints, sharing

__all__ = ["canonical", "catalog", "clicks", "deliveries", "endpoints", "sharing"]

admin.site.site_header = "clicktrack admin"
admin.site.site_title = "clicktrack admin"
admin.site.index_title = "Clicks, deliveries and webhook endpoints"
