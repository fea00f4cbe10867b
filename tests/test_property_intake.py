"""Property tests of webhook intake: whatever an authenticated sender posts, the answer is 200 or
400 (never 500), a 400 says why in JSON, and the body is kept byte for byte. Processing then
never crashes: each accepted delivery ends processed, duplicate, ignored, test (a sender's test
event), or failed with the parser's reason, and any click it stores has a time in range.

Every example goes through the real endpoint (test client, signed by ``post_webhook``) and runs in
a savepoint that is rolled back afterwards, so each one starts from the same empty tables.

The senders come from the registry (``analytics.senders.SENDERS``): a new sender gets the generic
properties at once, and the tests that need its own samples and fields fail, naming the tables
below that lack its entry, until it has them.
"""

import copy
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as settings_module
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analytics.models import Click, Delivery, WebhookEndpoint
from analytics.senders import SENDERS, Event, PayloadError, parser_for
from tests.conftest import payload, post_webhook

SENDER_KEYS = tuple(SENDERS)

# --- what is particular to each sender: one entry per registered sender in each table ----------

# The real payloads that mutations start from.
SAMPLES = {
    "dub": (
        "dub/link_clicked_real",
        "dub/link_clicked",  # Dub's "Send test event": parsed in full, then kept as a test
        "dub/link_clicked_docs",
        "dub/lead_created",
        "dub/sale_created",
        "dub/link_created",
    ),
    "heyoo": ("heyoo/campaign_clicked",),
    "woodpecker": ("woodpecker/link_clicked",),
    "opptima": ("opptima/click",),
}
# The click payload of each sender and where its click time is.
CLICK_SAMPLE = {
    "dub": ("dub/link_clicked_real", ("data", "click", "timestamp")),
    "heyoo": ("heyoo/campaign_clicked", ("data", "click", "timestamp")),
    "woodpecker": ("woodpecker/link_clicked", (0, "timestamp")),
    "opptima": ("opptima/click", ("timestamp",)),
}


def _under(prefix: tuple, names: str) -> list[tuple]:
    return [(*prefix, name) for name in names.split()]


# The fields each parser reads (the rest of a payload is ignored): mutations aim here half the time.
CLICK_FIELDS = (
    "id timestamp url country city region continent latitude longitude device browser os "
    "referer refererUrl qr bot ip ua"
)
READ_FIELDS = {
    "dub": [
        ("event",),
        ("data",),
        ("data", "click"),
        ("data", "link"),
        *_under(("data", "click"), CLICK_FIELDS),
        *_under(("data", "link"), "id shortLink url domain key utm_source utm_medium utm_campaign"),
    ],
    "heyoo": [
        ("event",),
        ("data",),
        ("data", "click"),
        ("data", "campaign"),
        ("data", "sharer"),
        *_under(("data", "click"), CLICK_FIELDS),
        *_under(
            ("data", "campaign"),
            "id name destinationUrl status utm_source utm_medium utm_campaign objective "
            "description domain startDate endDate rewardType workspaceSlug contentPillarName "
            "createdAt",
        ),
        *_under(("data", "sharer"), "id name email"),
    ],
    "woodpecker": [
        (0,),
        (0, "prospect"),
        *_under((0,), "method timestamp click_url step email_no firm_id"),
        *_under(
            (0, "prospect"),
            "id email first_name last_name company city state country campaign_id campaign_name",
        ),
    ],
    "opptima": _under(
        (),
        "type event campid relid cityName regionName countryName latitude longitude device_type "
        "browser timestamp email campaignName contactId destination",
    ),
}
# Where each sender's click sample takes out-of-range numbers and deep nests: ids, coordinates and
# campaign details.
NUMBER_FIELDS = {
    "dub": [("data", "click", "latitude"), ("data", "click", "id")],
    "heyoo": [("data", "campaign", "startDate"), ("data", "campaign", "id")],
    "woodpecker": [(0, "prospect", "campaign_id"), (0, "prospect", "id")],
    "opptima": [("campid",), ("longitude",)],
}
PER_SENDER = {
    "SAMPLES": SAMPLES,
    "CLICK_SAMPLE": CLICK_SAMPLE,
    "READ_FIELDS": READ_FIELDS,
    "NUMBER_FIELDS": NUMBER_FIELDS,
}


def require_tables(sender: str) -> None:
    """Fail, naming the tables, when a registered sender has no entry in the per-sender tables."""
    missing = [name for name, table in PER_SENDER.items() if sender not in table]
    if missing:
        pytest.fail(
            f"Sender {sender!r} is registered in analytics.senders.SENDERS but has no entry in "
            f"{', '.join(missing)} of tests/test_property_intake.py: add its samples and fields.",
            pytrace=False,
        )


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _keys(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


KNOWN_KEYS = sorted({key for names in SAMPLES.values() for n in names for key in _keys(payload(n))})

# Strings a careless parser trips on: NUL, lone surrogates, bidi and BOM marks, characters that
# grow when lower-cased (İ) or upper-cased (ß), emoji, combining marks, broken URLs and IPs,
# the senders' own event names and time formats.
ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202eevil",
    "\ufeff",
    "İ" * 400,
    "ß" * 300,
    "😀" * 150,
    "e\u0301" * 200,
    "<script>alert(1)</script>",
    "http://[",
    "//[::1",
    "https://exa mple.com/%zz",
    "fe80::1%eth0",
    "::ffff:1.2.3.4",
    "(direct)",
    "null",
    "NaN",
    "Infinity",
    "link.clicked",
    "campaign.clicked",
    "link_clicked",
    "click",
    "2025-02-03T09:35:57.926Z",
    "2020-10-02 15:07:31",
    "0000-00-00 00:00:00",
]
text_values = st.one_of(
    st.text(),
    st.text(st.characters(exclude_categories=[])),  # lone surrogates included
    st.sampled_from(ODD_TEXT),
    st.builds(lambda char, n: char * n, st.characters(exclude_categories=[]), st.integers(1, 5000)),
)
HUGE_INTS = [2**31, 2**63, -(2**63) - 1, 2**64, 2**70, -(2**70), 10**100, 10**4000, -(10**4000)]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(),  # NaN and infinities are written as NaN/Infinity, which is not JSON
    text_values,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=10)), children, max_size=6
        ),
    ),
    max_leaves=30,
)


@st.composite
def encoded(draw: st.DrawFn, values: st.SearchStrategy) -> bytes:
    """A JSON text of a drawn value: as JavaScript sends it, ASCII-escaped, or indented.

    A lone surrogate is sent as its \\u escape when ASCII-escaped; otherwise it is encoded with
    surrogatepass, which is not valid UTF-8 (the parser must say so).
    """
    value = draw(values)
    style = draw(st.sampled_from(["js", "ascii", "indented"]))
    if style == "ascii":
        text = json.dumps(value)
    elif style == "indented":
        text = json.dumps(value, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    body = text.encode("utf-8", "surrogatepass")
    assume(len(body) <= settings_module.WEBHOOK_MAX_BODY_BYTES)  # larger ones get 413
    return body


# --- mutations of the real payloads ------------------------------------------------------------

TIMESTAMPS = [
    "2025-13-45",
    "2025-02-30T10:00:00Z",
    "yesterday",
    "",
    "   ",
    1738575357,
    1738575357926,
    "1738575357",
    "0000-00-00 00:00:00",
    "2025-02-03T09:35:57.926+25:00",
    "2025-02-03T09:35:57.926-24:00",
    "2025-02-03T09:35:57.926+0100",
    "2025-02-03T09:35:57.926Z\x00",
    "20250203T093557Z",
    "2025-W06-1",
    "2025-02-03",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01 00:00:00",
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00+01:00",
    "2000-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2999-01-01T00:00:00Z",
    (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    (datetime.now(UTC) + timedelta(days=3)).isoformat(),
    "2025-02-03T09:35:57." + "9" * 100 + "Z",
]
OUT_OF_RANGE_NUMBERS = [
    "1e308",
    "-1e308",
    str(2**70),
    str(-(2**70)),
    "1e400",  # parses as float infinity
    "-1e400",
    "1e-400",
    "-0",
    "123456789012345678901234567890.123456789",
    "9" * 4300,
    "9" * 5000,  # beyond Python's limit on integer digits
]
WRONG_TYPES = [None, True, False, 0, -1, 1.5, "", "text", [], ["x"], {}, {"id": "x"}]


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Raw:
    """A JSON literal written into the body as is: json.dumps cannot write 1e400 or deep nests."""

    text: str
    label: str

    def __repr__(self) -> str:
        return f"Raw({self.label})"


@dataclass(frozen=True)
class Repeat:
    """A long string, shown short in Hypothesis's report."""

    char: str
    count: int

    def __repr__(self) -> str:
        return f"Repeat({self.char!r} * {self.count})"


DEEP = [Raw(_deep(depth), f"{depth} nested lists") for depth in (2000, 999, 50)]
HUGE = [Repeat("x", 100_000), Repeat("İ", 100_000), Repeat("\x00", 100_000)]

mutation_values = st.one_of(
    st.tuples(st.just("delete"), st.none()),
    st.tuples(st.just("set"), st.none()),
    st.tuples(st.just("wrong_type"), st.sampled_from(WRONG_TYPES)),
    st.tuples(st.just("set"), st.sampled_from(HUGE)),
    st.tuples(st.just("set"), st.sampled_from(DEEP)),
    st.tuples(st.just("set"), st.sampled_from([Raw(n, n[:30]) for n in OUT_OF_RANGE_NUMBERS])),
    st.tuples(st.just("set"), st.sampled_from(TIMESTAMPS)),
    st.tuples(st.just("set"), scalars),
)


def _paths(value: object, prefix: tuple = ()) -> Iterator[tuple]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        yield (*prefix, key)
        if isinstance(item, dict | list) and item:
            yield from _paths(item, (*prefix, key))


def _apply(document: object, path: tuple, kind: str, value: object) -> None:
    *parents, last = path
    parent = document
    for key in parents:
        parent = parent[key]
    if kind == "delete":
        del parent[last]
        return
    if kind == "wrong_type" and _json_type(value) == _json_type(parent[last]):
        value = "a string" if _json_type(value) != "str" else 12345
    parent[last] = value


def _encode(document: object, ensure_ascii: bool) -> bytes:
    """JSON text of ``document`` with every Raw written as is and every Repeat expanded."""
    raws: list[str] = []

    def placeholder(value: object) -> object:
        if isinstance(value, Repeat):
            return value.char * value.count
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"@@raw-{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {key: placeholder(item) for key, item in value.items()}
        if isinstance(value, list):
            return [placeholder(item) for item in value]
        return value

    text = json.dumps(placeholder(document), ensure_ascii=ensure_ascii)
    for index, raw in enumerate(raws):
        text = text.replace(f'"@@raw-{index}@@"', raw)
    return text.encode("utf-8", "surrogatepass")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Mutated:
    """A real sample with fields deleted or replaced; its repr names what was done."""

    sample: str
    mutations: tuple[tuple[tuple, str, object], ...]
    body: bytes = field(repr=False)

    def __repr__(self) -> str:
        done = ", ".join(
            f"{'.'.join(map(str, path))} {kind} {_short(value)}"
            for path, kind, value in self.mutations
        )
        return f"Mutated({self.sample}: {done}; {len(self.body)} bytes)"


@st.composite
def mutated(draw: st.DrawFn, sender: str) -> Mutated:
    """A real sample of ``sender`` with one to three fields deleted or replaced."""
    sample = draw(st.sampled_from(SAMPLES[sender]))
    document = copy.deepcopy(payload(sample))
    mutations = []
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(document))
        if not paths:
            break
        read = [path for path in READ_FIELDS[sender] if path in paths]
        pool = st.sampled_from(read) if read and draw(st.booleans()) else st.sampled_from(paths)
        path = draw(pool)
        kind, value = draw(mutation_values)
        # A copy: a later mutation may reach inside this value, and the drawn object can be a
        # shared constant (a deep list), which would change what later examples draw.
        _apply(document, path, kind, copy.deepcopy(value))
        mutations.append((path, kind, value))
    body = _encode(document, ensure_ascii=draw(st.booleans()))
    # Two huge strings, ASCII-escaped, outgrow the 1 MB limit: a 413, not the point here.
    assume(len(body) <= settings_module.WEBHOOK_MAX_BODY_BYTES)
    return Mutated(sample, tuple(mutations), body)


# --- helpers -----------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one example in a savepoint and undo everything it wrote."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def intake_errors() -> Iterator[list[logging.LogRecord]]:
    """The errors processing logs: a parser or a statement failing other than by PayloadError."""
    handler = _Records()
    logger = logging.getLogger("analytics.intake")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def assert_kept_and_answered(client, endpoint: WebhookEndpoint, body: bytes) -> str:
    """Post ``body`` and process it; check the answer, that the delivery holds exactly these
    bytes, and what processing made of it. Returns the delivery's final status."""
    before = Delivery.objects.count()
    with intake_errors() as errors:
        response = post_webhook(client, endpoint, body)

    assert response.status_code in (200, 400), (
        f"{response.status_code} for a {endpoint.sender} body of {len(body)} bytes "
        f"starting {body[:300]!r}: {response.content[:500]!r}"
    )
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    if response.status_code == 400:
        assert isinstance(answer.get("error"), str)
        assert answer["error"]
    assert Delivery.objects.count() == before + 1
    delivery = Delivery.objects.latest("pk")
    assert answer["delivery"] == delivery.pk
    assert bytes(delivery.body) == body

    # Processing ran to the end: nothing left queued, and no unexpected exception on the way
    # (it would have been a 500 when the view processed; now it is a logged failure).
    assert not errors, [record.getMessage() for record in errors]
    assert delivery.status != Delivery.Status.RECEIVED
    if delivery.status == Delivery.Status.FAILED:
        assert delivery.error
        assert not Click.objects.filter(delivery=delivery).exists()
    if response.status_code == 400:
        assert (delivery.status, delivery.error) == (Delivery.Status.FAILED, answer["error"])
    latest = timezone.now() + timedelta(days=2)
    for click in Click.objects.filter(delivery=delivery):
        assert timezone.is_aware(click.occurred_at), click.occurred_at
        assert EARLIEST <= click.occurred_at <= latest, (click.occurred_at, body[:300])
    return delivery.status


def sender_endpoint(sender: str) -> WebhookEndpoint:
    """An endpoint of ``sender``, with a secret when its authentication takes one."""
    spec = SENDERS[sender]
    secret = (
        f"{spec.demo_secret_prefix}0123456789abcdef0123456789abcdef" if spec.takes_secret else ""
    )
    return WebhookEndpoint.objects.create(sender=sender, name=f"{spec.label} fuzz", secret=secret)


@pytest.fixture(params=SENDER_KEYS)
def endpoint(request, db) -> WebhookEndpoint:
    # db named here: pytest-django sets up the test database only for tests that ask for it.
    return sender_endpoint(request.param)


# --- properties --------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", SENDER_KEYS)
def test_every_registered_sender_has_its_fuzzing_tables(sender):
    """Without this, a sender missing from NUMBER_FIELDS would silently get no hostile cases."""
    require_tables(sender)


def test_fuzzing_tables_name_only_registered_senders():
    for name, table in PER_SENDER.items():
        assert set(table) <= set(SENDERS), f"{name} names unregistered senders"


@PROPERTY_SETTINGS
@given(body=encoded(json_values))
def test_any_json_value_is_answered_200_or_400_and_kept(client, endpoint, body):
    with rolled_back():
        assert_kept_and_answered(client, endpoint, body)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_mutated_real_payloads_are_answered_200_or_400_and_kept(client, endpoint, data):
    require_tables(endpoint.sender)
    body = data.draw(mutated(endpoint.sender), label="payload").body
    with rolled_back():
        assert_kept_and_answered(client, endpoint, body)


@pytest.mark.parametrize("sender", SENDER_KEYS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_parser_returns_events_or_raises_payload_error(sender, data):
    """No database: any bytes give a list of events or a PayloadError, nothing else."""
    require_tables(sender)
    body = data.draw(
        st.one_of(
            st.binary(max_size=2000),
            encoded(json_values),
            mutated(sender).map(lambda m: m.body),
        ),
        label="body",
    )
    try:
        events = parser_for(sender)(body, ZoneInfo("UTC"))
    except PayloadError as exc:
        assert str(exc)
        return
    assert isinstance(events, list)
    assert all(isinstance(event, Event) for event in events)


# --- the listed hostile values, each one tried (not left to chance) ----------------------------


def _with(sender: str, path: tuple, value: object) -> bytes:
    document = copy.deepcopy(payload(CLICK_SAMPLE[sender][0]))
    _apply(document, path, "set", value)
    # ASCII-escaped: a lone surrogate arrives as its \\u escape, as a JSON library sends it.
    return _encode(document, ensure_ascii=True)


@pytest.mark.parametrize("sender", SENDER_KEYS)
def test_odd_click_times_are_refused_or_stored_in_range(client, db, sender):
    """Each listed time format in turn (one savepoint each): failed, or a click in range."""
    require_tables(sender)
    endpoint = sender_endpoint(sender)
    for value in TIMESTAMPS:
        with rolled_back():
            body = _with(sender, CLICK_SAMPLE[sender][1], value)
            status = assert_kept_and_answered(client, endpoint, body)
            assert status in (Delivery.Status.PROCESSED, Delivery.Status.FAILED), value
            if status == Delivery.Status.PROCESSED:
                assert Click.objects.count() == 1, value


# (sender, field path, value): the listed out-of-range numbers and nests on each sender's
# NUMBER_FIELDS, and strings that broke parsers elsewhere.
HOSTILE = [
    *(
        (sender, path, Raw(raw, raw[:20]))
        for sender, paths in NUMBER_FIELDS.items()
        for path in paths
        for raw in ("1e308", "-1e308", str(2**70), "1e400", "-1e400", _deep(2000))
    ),
    ("dub", ("data", "click", "referer"), "http://["),
    ("dub", ("data", "click", "refererUrl"), "//[::1"),
    ("heyoo", ("data", "click", "referer"), "http://["),
    ("dub", ("data", "click", "ip"), "fe80::1%eth0"),
    ("heyoo", ("data", "click", "ip"), "fe80::1%eth0"),
    ("heyoo", ("data", "sharer", "email"), Repeat("İ", 320)),
    ("woodpecker", (0, "prospect", "email"), Repeat("İ", 320)),
    ("opptima", ("email",), Repeat("İ", 320)),
    ("dub", ("data", "click", "city"), Repeat("x", 100_000)),
    ("heyoo", ("data", "campaign", "name"), Repeat("\x00\ud800", 1000)),
    ("woodpecker", (0, "prospect", "company"), Repeat("😀", 50_000)),
    ("opptima", ("cityName",), Repeat("\ud800", 10_000)),
]


@pytest.mark.parametrize(
    ("sender", "path", "value"),
    HOSTILE,
    ids=[f"{s}-{'.'.join(map(str, p))}-{v!r}"[:60] for s, p, v in HOSTILE],
)
def test_hostile_field_values_are_answered_200_or_400(client, db, sender, path, value):
    endpoint = sender_endpoint(sender)
    assert_kept_and_answered(client, endpoint, _with(sender, path, value))


@pytest.mark.parametrize(
    ("sender", "path", "value"),
    HOSTILE,
    ids=[f"{s}-{'.'.join(map(str, p))}-{v!r}"[:60] for s, p, v in HOSTILE],
)
def test_parser_on_hostile_values_returns_events_or_raises_payload_error(sender, path, value):
    """The same values without a database: a failure here names the parser, not the storage."""
    try:
        events = parser_for(sender)(_with(sender, path, value), ZoneInfo("UTC"))
    except PayloadError:
        return
    assert all(isinstance(event, Event) for event in events)
