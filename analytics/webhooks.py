"""``POST /webhooks/<sender>/<token>/``: authenticate, store raw, process, answer.

The answers are part of the interface senders rely on: 200 for every accepted delivery (duplicates
and non-click events included), 400 for a body that does not fit, 401 for a bad signature, 404 for
an unknown endpoint, 411 for a chunked body, 413 for an oversized body, 429 past the endpoint's
rate, 503 while the database is down. Never a redirect, and never 410: Woodpecker unsubscribes
on it.
"""

import hashlib
import hmac
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from analytics import intake, ratelimit
from analytics.models import Delivery, Sender, WebhookEndpoint
from analytics.senders import PayloadError

logger = logging.getLogger(__name__)

_SECRET_HEADER_WORDS = ("authorization", "signature", "secret", "token", "api-key", "apikey")
_DROPPED_HEADERS = {"cookie"}


@csrf_exempt
def receive_webhook(request: HttpRequest, sender: str, token: str) -> HttpResponse:
    if request.method not in ("POST", "HEAD"):
        response = _error(405, f"Use POST to deliver webhooks, not {request.method}.")
        response["Allow"] = "POST, HEAD"
        return response
    try:
        return _receive(request, sender, token)
    except (OperationalError, InterfaceError) as exc:
        # One line, not a traceback: an outage answers hundreds of these a second.
        logger.warning("Database unavailable while receiving a %s webhook: %s", sender, exc)
        response = _error(503, "The database is unavailable; please retry shortly.")
        response["Retry-After"] = "30"
        return response


def _receive(request: HttpRequest, sender: str, token: str) -> HttpResponse:
    endpoint = _find_endpoint(sender, token)
    if endpoint is None:
        return _error(404, f"No {sender} webhook endpoint has this URL.")
    if not endpoint.is_active:
        return _error(404, f"The webhook endpoint {endpoint.name!r} is disabled.")
    if request.method == "HEAD":
        return HttpResponse(status=200)

    limit = settings.WEBHOOK_MAX_BODY_BYTES
    if (
        not request.META.get("CONTENT_LENGTH")
        and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    ):
        # WSGI hands Django no body without a length: say so rather than "missing signature".
        return _error(411, "Send the body with a Content-Length header, not chunked.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "The Content-Length header is not a number.")
    if declared > limit:
        return _error(413, f"The body is larger than the {limit} byte limit.")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"The body is larger than the {limit} byte limit.")

    # Unauthenticated bodies are answered before anything is stored.
    auth_error = _authenticate(endpoint, request, body)
    if auth_error:
        return _error(401, auth_error)
    # Charged after authentication, so whoever merely knows the URL cannot spend the real
    # sender's allowance with unsigned requests.
    wait = ratelimit.retry_after(endpoint.pk)
    if wait:
        response = _error(429, f"Too many deliveries to this endpoint; retry in {wait} s.")
        response["Retry-After"] = str(wait)
        return response

    # One transaction, one commit (the WAL flush is the price of a durable webhook): the raw
    # delivery and everything it implies. process() works in a savepoint and records a failure
    # on the delivery, so a body that cannot be processed is still kept, as failed.
    with transaction.atomic():
        delivery = intake.receive(
            endpoint, body, _stored_headers(request), request.META.get("REMOTE_ADDR") or None
        )
        try:
            intake.process(delivery)
        except PayloadError as exc:
            failure = _error(400, str(exc), delivery=delivery.pk)
        except (OperationalError, InterfaceError):
            raise  # nothing is kept; the sender gets 503 and retries
        except Exception:
            logger.exception("Delivery %s failed to process", delivery.pk)
            failure = _error(
                500,
                "The delivery was stored but could not be processed; it will be reprocessed.",
                delivery=delivery.pk,
            )
        else:
            failure = None
    return failure or JsonResponse(_summary(delivery))


def _summary(delivery: Delivery) -> dict[str, object]:
    return {
        "delivery": delivery.pk,
        "status": delivery.status,
        "clicks_created": delivery.clicks_created,
        "duplicates": delivery.duplicates,
        "ignored": delivery.ignored,
    }


def _find_endpoint(sender: str, token: str) -> WebhookEndpoint | None:
    """The endpoint whose token matches, compared in constant time against each of the sender's."""
    if sender not in Sender.values:
        return None
    found = None
    for endpoint in WebhookEndpoint.objects.filter(sender=sender):
        for valid in endpoint.valid_tokens():
            if hmac.compare_digest(valid.encode(), token.encode()):
                found = endpoint
    return found


def _authenticate(endpoint: WebhookEndpoint, request: HttpRequest, body: bytes) -> str:
    """An error message, or "" when the request proves it knows the endpoint's secret."""
    secrets = endpoint.valid_secrets()
    if not secrets:
        return ""
    if endpoint.sender == Sender.OPPTIMA:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return "Missing Authorization: Bearer <API key> header."
        if not _matches_any(given.strip(), secrets):
            return "The bearer token does not match this endpoint's API key."
        return ""
    header = signature_header(endpoint.sender)
    given = request.headers.get(header, "").strip().lower()
    if not given:
        return f"Missing {header} header."
    if not _matches_any(given, [sign(secret, body) for secret in secrets]):
        return f"The {header} header does not match the body signed with this endpoint's secret."
    return ""


def _matches_any(given: str, expected: list[str]) -> bool:
    # Every candidate is compared, so the time taken does not say which one matched.
    results = [hmac.compare_digest(given.encode(), value.encode()) for value in expected]
    return any(results)


def signature_header(sender: str) -> str:
    return settings.HEYOO_SIGNATURE_HEADER if sender == Sender.HEYOO else "Dub-Signature"


def sign(secret: str, body: bytes) -> str:
    """Dub's scheme: lowercase hex HMAC-SHA256 of the raw body, keyed with the whole secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _stored_headers(request: HttpRequest) -> dict[str, str]:
    stored = {}
    signature_headers = {signature_header(s).lower() for s in (Sender.DUB, Sender.HEYOO)}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS:
            continue
        if lowered in signature_headers or any(word in lowered for word in _SECRET_HEADER_WORDS):
            scheme = value.split(" ", 1)[0] if lowered == "authorization" and " " in value else ""
            value = f"{scheme} [masked]".strip()
        stored[name] = value.replace("\x00", "")
    return stored


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)
