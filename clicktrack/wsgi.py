"""The WSGI application: Django, with webhook deliveries on a lean middleware stack.

A webhook delivery (``/webhooks/...``) has no session, user, CSRF token, message or static file:
of the middleware every page needs, it only needs what shapes its answer (the security headers,
the Content-Length). It goes through a second Django handler built with WEBHOOK_MIDDLEWARE: the
same view, URLs, signals, error handling and response headers, without the rest of the stack,
which was a fifth of the CPU Django spent accepting a delivery. A sender's stray cookies are
left alone (the full stack would answer with session and CSRF cookies).
"""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clicktrack.settings")
django_application = get_wsgi_application()


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with settings.WEBHOOK_MIDDLEWARE instead of settings.MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.WEBHOOK_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


webhook_application = WebhookHandler()


def application(environ: dict, start_response: object) -> object:
    if environ.get("PATH_INFO", "").startswith(settings.WEBHOOK_PATH_PREFIX):
        return webhook_application(environ, start_response)
    return django_application(environ, start_response)
