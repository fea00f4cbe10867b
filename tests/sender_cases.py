"""One entry per sender for the shared suite in tests/test_senders.py.

Each ``SenderCase`` says, as data, what the shared tests need to know of a sender: its sample
click (from tests/payloads/<sender>/), how to break it, how to make another click of the same
visitor, its non-click events and how it authenticates. A new sender adds one entry here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Break:
    """A change to the sample click that processing refuses, and the error naming the field."""

    name: str
    change: Callable[[object], None]
    error: str


@dataclass(frozen=True)
class SenderCase:
    sender: str
    click: str  # payload name of the sample click, e.g. "dub/link_clicked"
    click_event_type: str  # what the delivery of the sample click records as its event type
    sample_click: dict[str, object]  # lookups the stored click of the sample matches
    related: dict[str, int]  # Campaign, Link and Contact rows the sample click leaves
    non_clicks: tuple[tuple[str, str], ...]  # (payload name, its recorded event type)
    malformed: bytes
    wrong_shape: Callable[[object], bytes]  # the sample made JSON of another top-level shape
    shape_error: str
    breaks: tuple[Break, ...]
    # Another click by the sample's visitor in the sample's campaign (or link, without one).
    again: Callable[[object], None]
    # The sample's visitor in another campaign, and lookups that find that click.
    other_campaign: Callable[[object], None]
    other_campaign_click: dict[str, object]
    # Another visitor in the sample's campaign.
    other_visitor: Callable[[object], None]
    # Senders with a secret: the endpoint's, a wrong credential, and the webhook's answers.
    secret: str = ""
    wrong_credential: dict[str, str] = field(default_factory=dict)
    wrong_credential_error: str = ""
    missing_credential_error: str = ""
    masked_headers: dict[str, str] = field(default_factory=dict)  # as stored on the delivery
    signs_body: bool = False

    def __str__(self) -> str:
        return self.sender


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _set(path: tuple, value: object) -> Callable[[object], None]:
    def change(document: object) -> None:
        *parents, last = path
        for key in parents:
            document = document[key]
        document[last] = value

    return change


def _delete(path: tuple) -> Callable[[object], None]:
    def change(document: object) -> None:
        *parents, last = path
        for key in parents:
            document = document[key]
        del document[last]

    return change


def _update(path: tuple, **values: object) -> Callable[[object], None]:
    def change(document: object) -> None:
        for key in path:
            document = document[key]
        document.update(values)

    return change


def _all(*changes: Callable[[object], None]) -> Callable[[object], None]:
    def change(document: object) -> None:
        for one in changes:
            one(document)

    return change


def _wrap_in_array(document: object) -> bytes:
    from tests.conftest import js_json

    return js_json([document])


CLICK = ("data", "click")

# Dub and Heyoo send the same click object (analytics/senders/click_object.py).
CLICK_OBJECT_BREAKS = (
    Break("no click id", _delete((*CLICK, "id")), "data.click.id must be a string, got nothing."),
    Break(
        "time not a date",
        _set((*CLICK, "timestamp"), "yesterday"),
        "data.click.timestamp is not an ISO 8601 timestamp: 'yesterday'.",
    ),
)

DUB = SenderCase(
    sender="dub",
    # Dub's own sample (dub/link_clicked) is what its "Send test event" sends, kept out of the
    # counts: the shared suite takes a real click, on a link with UTM fields.
    click="dub/link_clicked_real",
    click_event_type="link.clicked",
    sample_click={
        "external_id": "Qm3xT8vLpR2cW9aZ",
        "occurred_at": _at("2025-02-03T09:35:57.926Z"),
        "link__external_id": "cm6r1t0dq0007pf3h2xk9vb4m",
        "campaign__external_id": "launch-week",
    },
    related={"Campaign": 1, "Link": 1, "Contact": 0},
    non_clicks=(
        ("dub/lead_created", "lead.created"),
        ("dub/sale_created", "sale.created"),
        ("dub/link_created", "link.created"),
    ),
    malformed=b'{"id": "evt_Qk4Jm1sXwT9pLbV2cYr8nHd5u", "event": "link.clicked", "data": {',
    wrong_shape=_wrap_in_array,
    shape_error="The body must be a JSON object with id, event and data.",
    breaks=(
        *CLICK_OBJECT_BREAKS,
        Break("no click", _delete(CLICK), "data.click must be an object, got nothing."),
    ),
    again=_update(CLICK, id="click_again", timestamp="2025-02-03T10:00:00.000Z"),
    # Another link, of another campaign: its utm_campaign field wins over the clicked URL's.
    other_campaign=_all(
        _update(CLICK, id="click_other_link"),
        _update(("data", "link"), id="lnk_2", utm_campaign="summer-sale"),
    ),
    other_campaign_click={"link__external_id": "lnk_2", "campaign__external_id": "summer-sale"},
    other_visitor=_update(CLICK, id="click_other_ip", ip="203.0.113.7"),
    secret="whsec_0123456789abcdef0123456789abcdef",
    wrong_credential={"Dub-Signature": "0" * 64},
    wrong_credential_error=(
        "The Dub-Signature header does not match the body signed with this endpoint's secret."
    ),
    missing_credential_error="Missing Dub-Signature header.",
    masked_headers={"Dub-Signature": "[masked]"},
    signs_body=True,
)

HEYOO = SenderCase(
    sender="heyoo",
    click="heyoo/campaign_clicked",
    click_event_type="campaign.clicked",
    sample_click={
        "external_id": "clk_...",
        "occurred_at": _at("2024-08-26T16:41:52.346Z"),
        "campaign__external_id": "cm11...",
        "sharer__email": "john@example.com",
    },
    related={"Campaign": 1, "Link": 0, "Contact": 1},
    non_clicks=(
        ("heyoo/campaign_shared", "campaign.shared"),
        ("heyoo/post_published", "post.published"),
    ),
    malformed=b'{"id": "evt_...", "event": "campaign.clicked", "data": {',
    wrong_shape=_wrap_in_array,
    shape_error="The body must be a JSON object with id, event, timestamp and data.",
    breaks=(
        *CLICK_OBJECT_BREAKS,
        Break(
            "no click time",
            _delete((*CLICK, "timestamp")),
            "data.click.timestamp must be an ISO 8601 timestamp string, got nothing.",
        ),
        Break(
            "click an array",
            lambda event: event["data"].update(click=[event["data"]["click"]]),
            "data.click must be an object, got an array.",
        ),
        Break(
            "no campaign",
            _delete(("data", "campaign")),
            "data.campaign must be an object, got nothing.",
        ),
        Break(
            "no campaign id",
            _delete(("data", "campaign", "id")),
            "data.campaign.id must be a string, got nothing.",
        ),
    ),
    again=_update(CLICK, id="clk_again", timestamp="2024-08-26T17:00:00.000Z"),
    other_campaign=_all(
        _update(CLICK, id="clk_other_campaign"),
        _update(("data", "campaign"), id="cm22...", name="Winter Push"),
    ),
    other_campaign_click={"campaign__external_id": "cm22...", "campaign__name": "Winter Push"},
    other_visitor=_update(CLICK, id="clk_other_ip", ip="203.0.113.7"),
    secret="whsec_fedcba9876543210fedcba9876543210",
    wrong_credential={"Heyoo-Signature": "0" * 64},
    wrong_credential_error=(
        "The Heyoo-Signature header does not match the body signed with this endpoint's secret."
    ),
    missing_credential_error="Missing Heyoo-Signature header.",
    masked_headers={"Heyoo-Signature": "[masked]"},
    signs_body=True,
)

ITEM = (0,)  # the one event of Woodpecker's documented example array
PROSPECT = (0, "prospect")

WOODPECKER = SenderCase(
    sender="woodpecker",
    click="woodpecker/link_clicked",
    click_event_type="link_clicked",
    sample_click={
        "external_id": "",  # Woodpecker gives no click id
        "occurred_at": _at("2025-03-21T19:47:47Z"),
        "campaign__external_id": "123456",
        "recipient__email": "erlich@bachmanity.com",
    },
    related={"Campaign": 1, "Link": 0, "Contact": 1},
    non_clicks=(("woodpecker/prospect_replied", "prospect_replied"),),
    malformed=b'[{"method": "link_clicked", ',
    wrong_shape=lambda document: b'"link_clicked"',
    shape_error="The body must be a JSON array of Woodpecker events.",
    breaks=(
        Break("no method", _delete((0, "method")), "[0].method must be a string, got nothing."),
        Break(
            "time not a date",
            _set((0, "timestamp"), "21/03/2025 20:47"),
            "[0].timestamp is not an ISO 8601 timestamp: '21/03/2025 20:47'.",
        ),
        Break(
            "no time",
            _delete((0, "timestamp")),
            "[0].timestamp must be an ISO 8601 timestamp string, got nothing.",
        ),
        Break("no prospect", _delete(PROSPECT), "[0].prospect must be an object, got nothing."),
        Break(
            "prospect without id or email",
            _update(PROSPECT, id=None, email=""),
            "[0].prospect must have an id or an email.",
        ),
    ),
    # Another link in the same e-mail; the address is compared case-insensitively.
    again=_all(
        _update(ITEM, click_url="https://piedpiper.com/pricing"),
        _update(PROSPECT, email="Erlich@Bachmanity.com"),
    ),
    other_campaign=_update(PROSPECT, campaign_id=654321, campaign_name="SaaS in Europe"),
    other_campaign_click={"campaign__external_id": "654321", "campaign__name": "SaaS in Europe"},
    other_visitor=_update(PROSPECT, id=1234567891, email="jared@piedpiper.com"),
)

OPPTIMA = SenderCase(
    sender="opptima",
    click="opptima/click",
    click_event_type="emailMarketingClick",
    sample_click={
        "external_id": "",  # Opptima gives no click id
        # The naive time read in the endpoint's default zone, America/Bogota (UTC-5).
        "occurred_at": _at("2020-10-02T20:07:31Z"),
        "campaign__external_id": "12345",
        "recipient__email": "test@testdomain.com",
    },
    related={"Campaign": 1, "Link": 0, "Contact": 1},
    non_clicks=(("opptima/sent", "emailMarketingSent"), ("opptima/open", "emailMarketingOpen")),
    malformed=b'{"type": "Email marketing", "event": "click",',
    wrong_shape=_wrap_in_array,
    shape_error="The body must be a JSON object with type, event and campid.",
    breaks=(
        Break("no campid", _delete(("campid",)), "campid must be a string, got nothing."),
        Break(
            "time not a date",
            _set(("timestamp",), "02/10/2020 15:07:31"),
            "timestamp is not an ISO 8601 timestamp: '02/10/2020 15:07:31'.",
        ),
        Break(
            "time a number",
            _set(("timestamp",), 1601669251),
            "timestamp must be an ISO 8601 timestamp string, got a number.",
        ),
        Break("no event", _delete(("event",)), "event must be a string, got nothing."),
    ),
    again=_update((), timestamp="2020-10-02 15:20:00", email="TEST@testdomain.com"),
    other_campaign=_update((), campid="67890", campaignName="November newsletter"),
    other_campaign_click={
        "campaign__external_id": "67890",
        "campaign__name": "November newsletter",
    },
    other_visitor=_update((), email="ana@testdomain.com", contactId="112528992"),
    secret="opp_live_key_123",
    wrong_credential={"Authorization": "Bearer opp_live_wrong"},
    wrong_credential_error="The bearer token does not match this endpoint's API key.",
    missing_credential_error="Missing Authorization: Bearer <API key> header.",
    masked_headers={"Authorization": "Bearer [masked]"},
)

CASES = (DUB, HEYOO, WOODPECKER, OPPTIMA)
WITH_SECRET = tuple(case for case in CASES if case.secret)
