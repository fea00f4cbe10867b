"""A sender's definition in one place: ``SenderSpec``, and the ways a request proves itself.

Each sender module declares ``SPEC = SenderSpec(...)``; the webhook view, the processing worker,
the models, the admin, the demo and the test helpers all read it from ``analytics.senders.SENDERS``
instead of naming senders themselves.
"""

import hashlib
import hmac
import re
import secrets as secrets_module
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings

from analytics.senders.base import Parser, PayloadError
from analytics.senders.fields import load_json

# The key is a URL segment and fills the models' 20-character sender columns.
_KEY = re.compile(r"^[a-z0-9_-]{1,20}$")


def sign(secret: str, body: bytes) -> str:
    """Dub's scheme: lowercase hex HMAC-SHA256 of the raw body, keyed with the whole secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def matches_any(given: str, expected: list[str]) -> bool:
    # Every candidate is compared, so the time taken does not say which one matched.
    results = [hmac.compare_digest(given.encode(), value.encode()) for value in expected]
    return any(results)


class Authentication(ABC):
    """How a request proves it knows the endpoint's secret. Subclasses say how."""

    # What the endpoint's secret is to this sender, for the admin; "" when it takes none.
    secret_name = ""

    @property
    def takes_secret(self) -> bool:
        return bool(self.secret_name)

    def header(self) -> str:
        """The header that carries a signature of the body, or "" when none does."""
        return ""

    @abstractmethod
    def check(self, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str:
        """An error message, or "" when the request matches one of ``secrets`` (never empty)."""

    @abstractmethod
    def sign_headers(self, secret: str, body: bytes) -> dict[str, str]:
        """The headers the sender sends with ``body`` when it holds ``secret``."""

    @abstractmethod
    def help(self, label: str, has_secret: bool) -> str:
        """How requests of this sender prove themselves, for the admin."""


@dataclass(frozen=True)
class HmacSignature(Authentication):
    """Hex HMAC-SHA256 of the raw body, keyed with the secret, in ``header`` (Dub, Heyoo).

    ``header_setting`` names a Django setting that overrides the header's name; it is read at
    each request, so a test or a deployment may change it.
    """

    default_header: str
    header_setting: str = ""
    secret_name = "signing secret"

    def header(self) -> str:
        if self.header_setting:
            return getattr(settings, self.header_setting, self.default_header)
        return self.default_header

    def check(self, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str:
        header = self.header()
        given = headers.get(header, "").strip().lower()
        if not given:
            return f"Missing {header} header."
        if not matches_any(given, [sign(secret, body) for secret in secrets]):
            return (
                f"The {header} header does not match the body signed with this endpoint's secret."
            )
        return ""

    def sign_headers(self, secret: str, body: bytes) -> dict[str, str]:
        return {self.header(): sign(secret, body)}

    def help(self, label: str, has_secret: bool) -> str:
        header = self.header()
        if has_secret:
            return (
                f"{label} signs each request: the {header} header holds the hex HMAC-SHA256 of "
                "the raw body keyed with the secret; a request without a matching one is refused "
                "(401)."
            )
        return (
            f"{label} signs each request in the {header} header (HMAC-SHA256 of the body), but "
            "no secret is set here, so any request to this URL is accepted. Paste the signing "
            f"secret from {label}'s webhook settings."
        )


@dataclass(frozen=True)
class BearerKey(Authentication):
    """The secret itself, as ``Authorization: Bearer <API key>`` (Opptima)."""

    secret_name = "API key sent as a bearer token"

    def check(self, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str:
        scheme, _, given = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return "Missing Authorization: Bearer <API key> header."
        if not matches_any(given.strip(), secrets):
            return "The bearer token does not match this endpoint's API key."
        return ""

    def sign_headers(self, secret: str, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    def help(self, label: str, has_secret: bool) -> str:
        scheme = "the Authorization header as “Bearer <API key>”"
        if has_secret:
            return f"{label} sends its API key in {scheme}; any other key is refused (401)."
        return (
            f"{label} sends its API key in {scheme}, but none is set here, so any request to this "
            "URL is accepted. Enter the API key as the secret."
        )


@dataclass(frozen=True)
class UrlTokenOnly(Authentication):
    """Nothing but the token in the URL (Woodpecker signs nothing); the endpoint has no secret."""

    def check(self, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str:
        # Only reachable when validation was bypassed: a secret the sender can never prove is
        # refused rather than silently ignored.
        return "This sender does not sign webhooks; remove the secret set on this endpoint."

    def sign_headers(self, secret: str, body: bytes) -> dict[str, str]:
        return {}

    def help(self, label: str, has_secret: bool) -> str:
        return (
            f"{label} does not sign webhooks: the token in the URL is the only check. Keep the "
            "URL private, and rotate the token if it leaks."
        )


@dataclass(frozen=True)
class SenderSpec:
    """Everything clicktrack knows about one sender."""

    key: str  # in URLs (/webhooks/<key>/<token>/) and in every row's sender column
    label: str
    parse: Parser
    # The JSON types the body may have at the top level, checked before a delivery is accepted
    # (the rest of the shape is the parser's, in the worker), and the 400's message otherwise.
    shape: tuple[type, ...]
    shape_error: str
    auth: Authentication
    # Zone of the naive timestamps the sender sends, for endpoints that do not set one.
    default_time_zone: str = "UTC"
    # How the sender's secrets start (whsec_…), so demo endpoints look like real ones.
    demo_secret_prefix: str = ""
    # The sender drops bots before it sends (Dub): its verdict stands, so counts agree with its
    # own dashboard; clicktrack's rules (analytics.bots) are not applied on top.
    filters_bots_itself: bool = False

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"Sender key {self.key!r}: use 1-20 of a-z, 0-9, '-' or '_'.")

    @property
    def takes_secret(self) -> bool:
        return self.auth.takes_secret

    def check_shape(self, body: bytes) -> None:
        """Raise ``PayloadError`` unless the body is JSON of the sender's top-level shape."""
        if not isinstance(load_json(body), self.shape):
            raise PayloadError(self.shape_error)

    def authenticate(self, headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str:
        """An error message, or "" when the request proves it knows one of ``secrets``.

        ``headers`` are the request's, looked up case-insensitively (``request.headers``). An
        endpoint without a secret accepts every request to its URL.
        """
        return self.auth.check(headers, body, secrets) if secrets else ""

    def signature_header(self) -> str:
        """The header carrying a signature (masked when a delivery is stored), or ""."""
        return self.auth.header()

    def sign_headers(self, secret: str, body: bytes) -> dict[str, str]:
        """The authentication headers the sender would send (tests, benchmarks)."""
        return self.auth.sign_headers(secret, body)

    def authentication_help(self, has_secret: bool) -> str:
        """How requests prove themselves, for the admin, as ``authenticate`` checks them."""
        return self.auth.help(self.label, has_secret)

    def secret_refusal(self) -> str:
        """Why an endpoint of this sender may not have a secret ("" when it may)."""
        if self.takes_secret:
            return ""
        return f"{self.label} does not sign webhooks; its URL token is its only check."

    def demo_secret(self) -> str:
        if not self.takes_secret:
            return ""
        return f"{self.demo_secret_prefix}{secrets_module.token_hex(16)}"
