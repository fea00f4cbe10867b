"""The clicktrack admin, for staff: one module per area, each registering its models.

Clicks, campaigns, links and contacts are read-only (intake writes them); deliveries may only
have a failed body repaired; webhook endpoints are the one thing staff create and edit.
"""

from django.contrib import admin

from analytics.admin import catalog, clicks, deliveries, endpoints

__all__ = ["catalog", "clicks", "deliveries", "endpoints"]

admin.site.site_header = "clicktrack admin"
admin.site.site_title = "clicktrack admin"
admin.site.index_title = "Clicks, deliveries and webhook endpoints"
