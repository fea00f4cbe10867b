"""The API's documentation page: Swagger UI under the site's Content Security Policy."""

import json

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response


class SwaggerView(SpectacularSwaggerView):
    """drf-spectacular's Swagger UI page with its script in a static file, not inline.

    drf-spectacular's own page starts Swagger UI with an inline <script> and styles it with an
    inline <style>, which the CSP blocks (a blank page). Ours passes the same settings through
    json_script to analytics/static/analytics/api-docs.js.
    """

    template_name = "analytics/api_docs.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().get(request, *args, **kwargs)
        response.data["swagger_config"] = {
            "schemaUrl": response.data["schema_url"],
            "settings": json.loads(response.data["settings"]),
        }
        return response
