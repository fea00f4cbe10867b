"""The WSGI application: Django for pages and the API; webhook deliveries outside its request cycle.

A delivery (``/webhooks/<sender>/<token>/``) has no session, user, CSRF token, template or
message: it is authenticated and made durable by ``analytics.webhooks.receive``, the function the
Django view calls too, so both answer alike (tests/test_webhook_wsgi.py holds them to it). Called
straight from here, without Django's handler, middleware, URL resolver and signals, a delivery
costs half the CPU (0.32 against 0.72 ms in-process, BENCHMARKS.md) and one statement instead of
two: Django checks a kept connection with ``SELECT 1`` at the start of each request, which a
delivery does not need, since a failed INSERT already falls back to the spool.
"""

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import DEFAULT_DB_ALIAS, connections
from django.http.request import HttpHeaders

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clicktrack.settings")
django_application = get_wsgi_application()

from analytics.webhooks import Answer, receive  # noqa: E402  (needs Django set up)

# Django's request log: 4xx as warnings, 5xx as errors, tokens redacted by its handler's filter.
request_logger = logging.getLogger("django.request")

StartResponse = Callable[..., object]


def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path.startswith(settings.WEBHOOK_PATH_PREFIX):
        return _webhook(environ, start_response, path)
    return django_application(environ, start_response)


def _webhook(environ: dict, start_response: StartResponse, path: str) -> Iterable[bytes]:
    parts = path[len(settings.WEBHOOK_PATH_PREFIX) :].split("/")
    if len(parts) == 3 and not parts[2]:
        parts.pop()  # the trailing slash is optional, as in analytics/urls.py
    try:
        if len(parts) == 2 and all(parts):
            sender, token = parts
            headers = HttpHeaders(environ)
            read = environ["wsgi.input"].read
            answer = receive(environ["REQUEST_METHOD"], sender, token, headers, read, environ)
        else:
            answer = Answer(404, {"error": "No webhook endpoint has this URL."})
    except Exception:
        request_logger.exception("Internal Server Error: %s", path)
        answer = Answer(500, {"error": "The receiver failed; please retry."})
    finally:
        _release_connection()
    reason = HTTPStatus(answer.status).phrase
    if answer.status >= 400:
        log = request_logger.error if answer.status >= 500 else request_logger.warning
        log("%s: %s", reason, path)

    body = b"" if answer.body is None else json.dumps(answer.body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    headers += [*_security_headers(environ), *answer.headers.items()]
    start_response(f"{answer.status} {reason}", headers)
    return [body] if environ["REQUEST_METHOD"] != "HEAD" else []


def _release_connection() -> None:
    """What Django does with a thread's connection after a request, less the next request's
    health check: close it when it failed or outlived CONN_MAX_AGE, so the next delivery
    connects afresh (and until PostgreSQL answers, ``acceptance`` spools)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.connection is None or db.in_atomic_block:  # not ours to close (a test's transaction)
        return
    expired = db.close_at is not None and time.monotonic() >= db.close_at
    if db.errors_occurred or expired:
        db.close()


def _security_headers(environ: dict) -> list[tuple[str, str]]:
    """The headers Django's security middleware would add to the answer."""
    candidates = [
        ("X-Content-Type-Options", "nosniff" if settings.SECURE_CONTENT_TYPE_NOSNIFF else ""),
        ("Referrer-Policy", settings.SECURE_REFERRER_POLICY),
        ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY),
        ("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
    ]
    headers = [(name, value) for name, value in candidates if value]
    if settings.SECURE_HSTS_SECONDS and _is_secure(environ):
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    return headers


def _is_secure(environ: dict) -> bool:
    if settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER
        return environ.get(header, "").split(",")[0].strip() == value
    return environ.get("wsgi.url_scheme") == "https"
