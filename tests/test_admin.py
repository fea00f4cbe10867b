"""The admin: who gets in, what each page shows and allows, and that lists stay fast."""

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.admin import base as admin_base
from analytics.admin.deliveries import pretty_body
from analytics.exports import CLICK_COLUMNS, format_cell
from analytics.models import Campaign, Click, Contact, Delivery, Link, WebhookEndpoint
from analytics.senders.spec import sign
from tests.conftest import (
    DUB_SECRET,
    assert_failed_in_processing,
    js_json,
    payload,
    post_webhook,
)

# Queries of a changelist page, whatever the number of rows on it: session, user, the row
# estimate and the exact count (the table is small), the date hierarchy's MIN/MAX (clicks), the
# filter choices (first view, uncached), the page of rows with its related rows joined.
CLICK_LIST_QUERIES = 7
DELIVERY_LIST_QUERIES = 6
CAMPAIGN_LIST_QUERIES = 5  # session, user, filtered and full counts, the page

MODELS = (Click, Delivery, WebhookEndpoint, Campaign, Link, Contact)


@pytest.fixture(autouse=True)
def _fresh_filter_choices() -> Iterator[None]:
    # Filter choices are cached between requests; each test must see its own rows.
    cache.clear()
    yield
    cache.clear()


def changelist(model: type) -> str:
    return reverse(f"admin:analytics_{model._meta.model_name}_changelist")


def change_page(obj: object) -> str:
    return reverse(f"admin:analytics_{obj._meta.model_name}_change", args=[obj.pk])


def dub_body(click_id: str = "Qm3xT8vLpR2cW9aZ", **link: object) -> bytes:
    body = payload("dub/link_clicked_real")
    body["data"]["click"]["id"] = click_id
    body["data"]["link"].update(link)
    return js_json(body)


def woodpecker_body(n: int) -> bytes:
    body = payload("woodpecker/link_clicked")
    body[0]["click_url"] = f"https://example.com/page-{n}"
    return js_json(body)


def broken_dub_body() -> bytes:
    """A Dub link.clicked without the click's timestamp: accepted, then failed by processing."""
    body = payload("dub/link_clicked_real")
    del body["data"]["click"]["timestamp"]
    return js_json(body)


def messages_of(response: object) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def run_action(client: Client, model: type, action: str, *objs: object) -> object:
    data = {"action": action, "_selected_action": [obj.pk for obj in objs]}
    return client.post(changelist(model), data, follow=True)


@pytest.fixture
def stored(
    client: Client,
    dub_endpoint: WebhookEndpoint,
    heyoo_endpoint: WebhookEndpoint,
    woodpecker_endpoint: WebhookEndpoint,
    opptima_endpoint: WebhookEndpoint,
) -> None:
    """One real delivery per sender (campaigns, a link, a recipient, a sharer) and a failed one."""
    for endpoint, body in (
        (dub_endpoint, dub_body(utm_campaign="spring-sale")),
        (heyoo_endpoint, js_json(payload("heyoo/campaign_clicked"))),
        (woodpecker_endpoint, js_json(payload("woodpecker/link_clicked"))),
        (opptima_endpoint, js_json(payload("opptima/click"))),
    ):
        assert post_webhook(client, endpoint, body).status_code == 200
    broken = broken_dub_body()
    assert_failed_in_processing(post_webhook(client, dub_endpoint, broken), broken)
    assert Click.objects.count() == 4
    assert Contact.objects.filter(clicks_received__isnull=False).exists()
    assert Contact.objects.filter(clicks_shared__isnull=False).exists()


# --- who gets in ---------------------------------------------------------------------------------


def test_every_admin_list_and_change_page_renders_for_staff(
    admin_client: Client, stored: None
) -> None:
    assert admin_client.get(reverse("admin:index")).status_code == 200
    for model in MODELS:
        assert admin_client.get(changelist(model)).status_code == 200, model
        objects = model.objects.all()
        assert objects, model
        for obj in objects:
            assert admin_client.get(change_page(obj)).status_code == 200, obj
    add_endpoint = reverse("admin:analytics_webhookendpoint_add")
    assert admin_client.get(add_endpoint).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?q=San+Jose",
        "?q=john%40example.com",
        "?q=SaaS+in+America",
        "?country=US",
        "?country=CO",
        "?sender__exact=heyoo&is_bot__exact=0&is_qr__exact=0&device__exact=mobile",
        "?occurred_at__year=2025",
        "?occurred_at__year=2025&occurred_at__month=2",
        "?occurred_at__year=2025&occurred_at__month=2&occurred_at__day=3",
    ],
)
def test_filtered_and_searched_click_lists_render(
    admin_client: Client, stored: None, query: str
) -> None:
    response = admin_client.get(changelist(Click) + query)

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("query", ["?status__exact=failed", "?endpoint__sender__exact=dub"])
def test_filtered_delivery_lists_render(admin_client: Client, stored: None, query: str) -> None:
    response = admin_client.get(changelist(Delivery) + query)

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("who", ["anonymous", "marketer"])
def test_non_staff_are_sent_to_the_admin_login(
    client: Client, marketer: object, stored: None, who: str
) -> None:
    if who == "marketer":
        client.force_login(marketer)
    failed = Delivery.objects.get(status=Delivery.Status.FAILED)
    urls = [reverse("admin:index"), *(changelist(model) for model in MODELS)]
    urls += [change_page(failed), change_page(Click.objects.first())]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login") + "?next="), url

    response = client.post(
        changelist(Delivery), {"action": "reprocess", "_selected_action": [failed.pk]}
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.attempts == 1  # not reprocessed


def test_staff_see_only_what_their_permissions_allow(
    client: Client, django_user_model: type, stored: None
) -> None:
    user = django_user_model.objects.create_user("sam", password="a-long-passphrase", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_click"))
    client.force_login(user)

    index = client.get(reverse("admin:index")).content.decode()
    assert changelist(Click) in index
    assert changelist(Delivery) not in index
    for model in (Delivery, WebhookEndpoint, Campaign):
        assert client.get(changelist(model)).status_code == 403
    click_list = client.get(changelist(Click))
    assert click_list.status_code == 200
    # Exporting is the dashboard permission's "export reports", which sam does not have.
    assert 'value="export_csv"' not in click_list.content.decode()

    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    assert 'value="export_csv"' in client.get(changelist(Click)).content.decode()


def test_viewing_deliveries_is_not_repairing_them(
    client: Client, django_user_model: type, stored: None
) -> None:
    user = django_user_model.objects.create_user("vic", password="a-long-passphrase", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(user)
    failed = Delivery.objects.get(status=Delivery.Status.FAILED)

    page = client.get(change_page(failed)).content.decode()
    assert 'name="repaired_body"' not in page
    assert 'value="reprocess"' not in client.get(changelist(Delivery)).content.decode()
    assert client.post(change_page(failed), {"repaired_body": "{}"}).status_code == 403


# --- clicks --------------------------------------------------------------------------------------


def add_clicks(make_click: Callable[..., Click], count: int, tag: str) -> None:
    """Clicks each with its own campaign, link, recipient and sharer: a query per row would show."""
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for i in range(count):
        make_click(
            start + timedelta(hours=i),
            campaign=Campaign.objects.create(sender="dub", external_id=f"{tag}-{i}", name=f"C{i}"),
            link=Link.objects.create(sender="dub", external_id=f"{tag}-{i}"),
            recipient=Contact.objects.create(sender="dub", email=f"r{tag}{i}@example.com"),
            sharer=Contact.objects.create(sender="dub", email=f"s{tag}{i}@example.com"),
            country="DE" if i % 2 else "FR",
        )


def test_click_list_query_count_does_not_grow_with_rows(
    admin_client: Client,
    make_click: Callable[..., Click],
    django_assert_num_queries: Callable,
) -> None:
    add_clicks(make_click, 30, "a")
    with django_assert_num_queries(CLICK_LIST_QUERIES):
        response = admin_client.get(changelist(Click))
    assert len(response.context["cl"].result_list) == 30

    add_clicks(make_click, 30, "b")
    cache.clear()
    with django_assert_num_queries(CLICK_LIST_QUERIES):
        response = admin_client.get(changelist(Click))
    assert len(response.context["cl"].result_list) == 60
    assert response.content.decode().count(reverse("admin:analytics_campaign_changelist")) >= 60

    # The country filter's choices are cached: the next view skips their DISTINCT scan.
    with django_assert_num_queries(CLICK_LIST_QUERIES - 1):
        admin_client.get(changelist(Click))


def test_click_list_links_each_click_to_its_campaign(admin_client: Client, stored: None) -> None:
    campaign = Campaign.objects.get(external_id="spring-sale")

    content = admin_client.get(changelist(Click)).content.decode()

    assert f'<a href="{change_page(campaign)}">spring-sale</a>' in content


def test_click_admin_is_read_only(admin_client: Client, stored: None) -> None:
    click = Click.objects.get(sender="dub")
    url = change_page(click)

    assert admin_client.get(reverse("admin:analytics_click_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:analytics_click_delete", args=[click.pk])).status_code
        == 403
    )
    assert admin_client.post(url, {"url": "https://evil.example"}).status_code == 403
    page = admin_client.get(url).content.decode()
    assert 'name="url"' not in page
    assert 'name="_save"' not in page
    assert (
        '<div class="readonly">https://acme.example/launch?utm_source=linkedin&amp;'
        "utm_medium=social&amp;utm_campaign=launch-week</div>"
    ) in page
    assert f'href="{change_page(click.delivery)}"' in page
    assert f'href="{change_page(click.campaign)}"' in page
    actions = admin_client.get(changelist(Click)).content.decode()
    assert 'value="delete_selected"' not in actions
    assert 'value="export_csv"' in actions
    click.refresh_from_db()
    assert click.url == (
        "https://acme.example/launch?utm_source=linkedin&utm_medium=social&utm_campaign=launch-week"
    )


def test_click_filters_and_search(admin_client: Client, make_click: Callable[..., Click]) -> None:
    when = datetime(2025, 3, 1, tzinfo=UTC)
    german = make_click(when, country="DE", city="Berlin")
    unknown = make_click(when, country="")
    mia = Contact.objects.create(sender="woodpecker", email="mia@example.com")
    mias = make_click(when, sender="woodpecker", recipient=mia)

    response = admin_client.get(changelist(Click))
    choices = response.content.decode()
    assert "Germany (DE)" in choices
    assert "Unknown" in choices

    def listed(query: str) -> set[int]:
        return {c.pk for c in admin_client.get(changelist(Click) + query).context["cl"].result_list}

    assert listed("?country=DE") == {german.pk}
    assert listed("?country=") == {unknown.pk, mias.pk}
    assert listed("?q=berl") == {german.pk}
    assert listed("?q=mia%40example") == {mias.pk}
    assert listed("?sender__exact=woodpecker") == {mias.pk}


def test_date_hierarchy_lists_periods_without_a_distinct_scan(
    admin_client: Client, make_click: Callable[..., Click]
) -> None:
    make_click(datetime(2023, 11, 5, 10, tzinfo=UTC))
    make_click(datetime(2025, 3, 2, 10, tzinfo=UTC))
    make_click(datetime(2025, 3, 4, 10, tzinfo=UTC))

    def periods(query: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(changelist(Click) + query)
        assert not any("DATE_TRUNC" in q["sql"].upper() for q in queries.captured_queries)
        return [choice["title"] for choice in response.context["date_periods"]["choices"]]

    assert periods("") == ["2023", "2024", "2025"]
    assert periods("?occurred_at__year=2025") == ["March 2025"]
    assert periods("?occurred_at__year=2025&occurred_at__month=3") == [
        "March 2",
        "March 3",
        "March 4",
    ]
    assert periods("?occurred_at__year=2025&occurred_at__month=3&occurred_at__day=4") == ["March 4"]


def test_unfiltered_list_counts_from_the_planner_estimate(
    admin_client: Client, make_click: Callable[..., Click], monkeypatch: pytest.MonkeyPatch
) -> None:
    for hour in range(12):
        make_click(datetime(2025, 3, 1, hour, tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_click")  # sets pg_class.reltuples, as autovacuum would
    assert admin_base.estimated_row_count(Click, "default") == 12
    monkeypatch.setattr(admin_base, "ESTIMATE_THRESHOLD", 10)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist(Click))
    sql = [q["sql"] for q in queries.captured_queries]
    assert any("reltuples" in s for s in sql)
    assert not any("COUNT(*)" in s for s in sql)
    assert response.context["cl"].result_count == 12
    assert "PostgreSQL's estimate" in response.content.decode()

    # A filter makes the estimate meaningless: that count is exact.
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist(Click) + "?is_bot__exact=0")
    assert any("COUNT(*)" in q["sql"] for q in queries.captured_queries)
    assert "PostgreSQL's estimate" not in response.content.decode()


def test_export_action_streams_exactly_the_selected_clicks(
    admin_client: Client, make_click: Callable[..., Click]
) -> None:
    campaign = Campaign.objects.create(sender="heyoo", external_id="cm11", name="Spring, “sale”")
    sharer = Contact.objects.create(sender="heyoo", email="john@example.com")
    first = make_click(
        datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        sender="heyoo",
        campaign=campaign,
        sharer=sharer,
        url='=HYPERLINK("https://evil.example")',
        country="BR",
        region="SP",
        city="São Paulo",
        continent="SA",
        latitude=-23.55,
        longitude=-46.63,
        device="mobile",
        browser="Chrome",
        os="iOS",
        referer="linkedin.com",
        referer_url="https://www.linkedin.com/",
        is_bot=True,
        utm_source="heyoo",
        utm_medium="referral",
        utm_campaign="summer_2024",
    )
    second = make_click(datetime(2025, 3, 2, tzinfo=UTC), is_qr=True, is_unique=False)
    make_click(datetime(2025, 3, 3, tzinfo=UTC))  # not selected

    response = admin_client.post(
        changelist(Click), {"action": "export_csv", "_selected_action": [second.pk, first.pk]}
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="clicks-selected-{today}.csv"'
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff" + ",".join(CLICK_COLUMNS) + "\r\n")
    rows = list(csv.reader(io.StringIO(content.removeprefix("\ufeff"))))
    assert rows == [
        CLICK_COLUMNS,
        [
            str(first.pk),
            format_cell(first.occurred_at),  # the export's one timestamp format
            "heyoo",
            first.external_id,
            str(campaign.canonical_id),  # its own canonical campaign, named after it
            "Spring, “sale”",
            "Spring, “sale”",
            "cm11",
            '\'=HYPERLINK("https://evil.example")',
            "BR",
            "SP",
            "São Paulo",
            "SA",
            "-23.55",
            "-46.63",
            "mobile",
            "Chrome",
            "iOS",
            "linkedin.com",
            "https://www.linkedin.com/",
            "false",
            "true",
            "user_agent",
            "true",
            "",
            "john@example.com",
            "heyoo",
            "referral",
            "summer_2024",
        ],
        [
            str(second.pk),
            format_cell(second.occurred_at),
            "dub",
            second.external_id,
            *[""] * 16,
            "true",
            "false",
            "",
            "false",
            *[""] * 5,
        ],
    ]


# --- deliveries ----------------------------------------------------------------------------------


def test_delivery_list_query_count_does_not_grow_with_rows(
    admin_client: Client,
    client: Client,
    dub_endpoint: WebhookEndpoint,
    woodpecker_endpoint: WebhookEndpoint,
    django_assert_num_queries: Callable,
) -> None:
    def deliver(numbers: range) -> None:
        for n in numbers:
            if n % 2:
                response = post_webhook(client, dub_endpoint, dub_body(f"click-{n}"))
            else:
                response = post_webhook(client, woodpecker_endpoint, woodpecker_body(n))
            assert response.status_code == 200

    deliver(range(30))
    with django_assert_num_queries(DELIVERY_LIST_QUERIES):
        response = admin_client.get(changelist(Delivery))
    assert len(response.context["cl"].result_list) == 30

    deliver(range(30, 60))
    cache.clear()
    with django_assert_num_queries(DELIVERY_LIST_QUERIES):
        response = admin_client.get(changelist(Delivery))
    assert len(response.context["cl"].result_list) == 60
    content = response.content.decode()
    assert "Dub: Acme" in content
    assert "Woodpecker: Outbound" in content


def test_reprocess_action_processes_a_repaired_delivery(
    admin_client: Client, client: Client, dub_endpoint: WebhookEndpoint
) -> None:
    broken = broken_dub_body()
    assert_failed_in_processing(post_webhook(client, dub_endpoint, broken), broken)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    page = admin_client.get(change_page(delivery)).content.decode()
    assert 'name="repaired_body"' in page

    repaired = dub_body().decode()
    response = admin_client.post(
        change_page(delivery), {"repaired_body": repaired.replace("\n", "\r\n"), "_save": "Save"}
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert bytes(delivery.body) == repaired.encode()
    assert delivery.status == Delivery.Status.FAILED  # saving is not reprocessing

    response = run_action(admin_client, Delivery, "reprocess", delivery)

    # After the save's own messages, shown on this same page.
    assert messages_of(response)[-1] == "Reprocessed 1 delivery: 1 processed; 1 click created."
    delivery.refresh_from_db()
    assert (delivery.status, delivery.clicks_created, delivery.error) == ("processed", 1, "")
    assert Click.objects.get().delivery == delivery


def test_reprocess_action_reports_each_outcome(
    admin_client: Client, client: Client, dub_endpoint: WebhookEndpoint
) -> None:
    post_webhook(client, dub_endpoint, dub_body("first"))
    post_webhook(client, dub_endpoint, broken_dub_body())
    post_webhook(client, dub_endpoint, broken_dub_body())
    processed, still_broken, repaired = Delivery.objects.order_by("pk")
    repaired.body = dub_body("second")
    repaired.save()

    response = run_action(admin_client, Delivery, "reprocess", processed, still_broken, repaired)

    still_broken.refresh_from_db()
    assert messages_of(response) == [
        "Reprocessed 3 deliveries: 1 processed, 1 duplicate, 1 failed; 1 click created.",
        f"Still failing: delivery {still_broken.pk}: {still_broken.error}.",
    ]
    assert Click.objects.count() == 2


def test_reprocess_action_survives_an_unexpected_error(
    admin_client: Client,
    client: Client,
    dub_endpoint: WebhookEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post_webhook(client, dub_endpoint, dub_body())
    delivery = Delivery.objects.get()

    def exploding_parser(sender: str) -> Callable:
        def parse(body: bytes, zone: object) -> list:
            raise RuntimeError("parser bug")

        return parse

    monkeypatch.setattr("analytics.intake.parser_for", exploding_parser)
    response = run_action(admin_client, Delivery, "reprocess", delivery)

    assert messages_of(response) == [
        "Reprocessed 1 delivery: 1 failed; 0 clicks created.",
        f"Still failing: delivery {delivery.pk}: parser bug.",
    ]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


def test_only_the_body_of_a_failed_delivery_is_editable(
    admin_client: Client, client: Client, dub_endpoint: WebhookEndpoint
) -> None:
    post_webhook(client, dub_endpoint, dub_body())
    processed = Delivery.objects.get()

    page = admin_client.get(change_page(processed)).content.decode()
    assert 'name="repaired_body"' not in page
    assert 'name="_save"' not in page
    response = admin_client.post(change_page(processed), {"repaired_body": "{}"})
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:analytics_delivery_add")).status_code == 403
    delete = reverse("admin:analytics_delivery_delete", args=[processed.pk])
    assert admin_client.get(delete).status_code == 403

    post_webhook(client, dub_endpoint, broken_dub_body())
    failed = Delivery.objects.get(status=Delivery.Status.FAILED)
    admin_client.post(
        change_page(failed), {"repaired_body": "{}", "status": "processed", "_save": "1"}
    )
    failed.refresh_from_db()
    assert (bytes(failed.body), failed.status) == (b"{}", "failed")


def test_delivery_body_and_headers_are_shown_escaped(
    admin_client: Client, client: Client, woodpecker_endpoint: WebhookEndpoint
) -> None:
    body = payload("woodpecker/link_clicked")
    body[0]["prospect"]["campaign_name"] = "<script>alert(1)</script>"
    post_webhook(
        client, woodpecker_endpoint, js_json(body), **{"X-Note": "<script>alert(2)</script>"}
    )
    post_webhook(client, woodpecker_endpoint, b"<script>alert(3)</script>\xff")
    processed, failed = Delivery.objects.order_by("pk")

    page = admin_client.get(change_page(processed)).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    # Pretty-printed: the decoded JSON, indented by two per level.
    assert "\n    &quot;method&quot;: &quot;link_clicked&quot;," in page
    assert '<th scope="row">X-Note</th>' in page

    page = admin_client.get(change_page(failed)).content.decode()
    assert "<script>alert" not in page
    assert '<pre class="delivery-body"' in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;\ufffd" in page  # the text, bytes replaced


def test_delivery_headers_are_shown_masked(
    admin_client: Client, client: Client, dub_endpoint: WebhookEndpoint
) -> None:
    post_webhook(client, dub_endpoint, dub_body())

    page = admin_client.get(change_page(Delivery.objects.get())).content.decode()

    assert '<th scope="row">Dub-Signature</th><td><code>[masked]</code></td>' in page
    assert DUB_SECRET not in page


def test_pretty_body_survives_what_senders_may_send() -> None:
    assert pretty_body(b'{"a":[1]}') == '{\n  "a": [\n    1\n  ]\n}'
    assert pretty_body('{"city":"São Paulo"}'.encode()) == '{\n  "city": "São Paulo"\n}'
    assert pretty_body(b'{"x":"\\ud800"}') == '{\n  "x": "\\ud800"\n}'  # lone surrogate
    assert pretty_body(b"[" * 100_000) == "[" * 100_000  # too deep to parse: shown as text
    assert pretty_body(b"a=1&b=\xff") == "a=1&b=\ufffd"


# --- webhook endpoints ---------------------------------------------------------------------------


def test_endpoint_list_shows_the_absolute_url_and_never_the_secret(
    admin_client: Client,
    dub_endpoint: WebhookEndpoint,
    woodpecker_endpoint: WebhookEndpoint,
) -> None:
    content = admin_client.get(changelist(WebhookEndpoint)).content.decode()

    for endpoint in (dub_endpoint, woodpecker_endpoint):
        assert f">http://testserver{endpoint.get_absolute_url()}</code>" in content
    assert DUB_SECRET not in content
    assert '<td class="field-secret_status">set</td>' in content
    assert '<td class="field-secret_status">not set</td>' in content


def test_endpoint_change_page_explains_authentication_without_the_secret(
    admin_client: Client, dub_endpoint: WebhookEndpoint, opptima_endpoint: WebhookEndpoint
) -> None:
    page = admin_client.get(change_page(dub_endpoint)).content.decode()

    assert f">http://testserver{dub_endpoint.get_absolute_url()}</code>" in page
    assert "Dub-Signature header" in page
    assert DUB_SECRET not in page
    assert '<input type="password" name="secret"' in page
    assert 'name="token"' not in page
    opptima = admin_client.get(change_page(opptima_endpoint)).content.decode()
    assert "Authorization header as “Bearer &lt;API key&gt;”" in opptima
    assert opptima_endpoint.secret not in opptima


def test_endpoint_viewer_never_sees_the_secret(
    client: Client, django_user_model: type, dub_endpoint: WebhookEndpoint
) -> None:
    user = django_user_model.objects.create_user("val", password="a-long-passphrase", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    client.force_login(user)

    page = client.get(change_page(dub_endpoint)).content.decode()

    assert page.count(f"http://testserver{dub_endpoint.get_absolute_url()}") == 1
    assert DUB_SECRET not in page
    assert 'type="password"' not in page
    assert 'value="rotate_token"' not in client.get(changelist(WebhookEndpoint)).content.decode()


def test_adding_an_endpoint_generates_its_token(admin_client: Client) -> None:
    add = reverse("admin:analytics_webhookendpoint_add")
    assert 'name="token"' not in admin_client.get(add).content.decode()

    response = admin_client.post(
        add,
        {
            "name": "Workspace B",
            "sender": "dub",
            "secret": "whsec_b",
            "token": "mine",
            "is_active": "on",
            "_save": "1",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get(name="Workspace B")
    assert endpoint.token != "mine"
    assert len(endpoint.token) >= 43
    assert (endpoint.secret, endpoint.time_zone, endpoint.is_active) == ("whsec_b", "UTC", True)
    url = f"http://testserver{endpoint.get_absolute_url()}"
    assert f"Give Dub this webhook URL: {url}" in messages_of(response)


def test_endpoint_secret_is_kept_replaced_or_removed(
    admin_client: Client, dub_endpoint: WebhookEndpoint
) -> None:
    url = change_page(dub_endpoint)
    form = {"name": "Acme EU", "time_zone": "UTC", "is_active": "on", "_save": "1"}

    assert admin_client.post(url, {**form, "secret": ""}).status_code == 302
    dub_endpoint.refresh_from_db()
    assert (dub_endpoint.name, dub_endpoint.secret) == ("Acme EU", DUB_SECRET)

    assert admin_client.post(url, {**form, "secret": "whsec_new"}).status_code == 302
    dub_endpoint.refresh_from_db()
    assert dub_endpoint.secret == "whsec_new"

    both = admin_client.post(url, {**form, "secret": "x", "clear_secret": "on"})
    assert both.status_code == 200
    assert "Enter a new secret or remove it, not both." in both.content.decode()

    assert admin_client.post(url, {**form, "clear_secret": "on"}).status_code == 302
    dub_endpoint.refresh_from_db()
    assert dub_endpoint.secret == ""


def test_woodpecker_endpoint_refuses_a_secret(
    admin_client: Client, woodpecker_endpoint: WebhookEndpoint
) -> None:
    form = {"name": "Outbound", "time_zone": "UTC", "is_active": "on", "secret": "s", "_save": "1"}

    response = admin_client.post(change_page(woodpecker_endpoint), form)

    assert response.status_code == 200
    assert "Woodpecker does not sign webhooks" in response.content.decode()
    woodpecker_endpoint.refresh_from_db()
    assert woodpecker_endpoint.secret == ""


def test_endpoint_sender_cannot_change(admin_client: Client, dub_endpoint: WebhookEndpoint) -> None:
    form = {"name": "Acme", "sender": "heyoo", "time_zone": "UTC", "is_active": "on", "_save": "1"}

    assert admin_client.post(change_page(dub_endpoint), form).status_code == 302

    dub_endpoint.refresh_from_db()
    assert dub_endpoint.sender == "dub"


def test_rotate_token_action_changes_the_url(
    admin_client: Client, client: Client, woodpecker_endpoint: WebhookEndpoint
) -> None:
    old_url = woodpecker_endpoint.get_absolute_url()

    response = run_action(admin_client, WebhookEndpoint, "rotate_token", woodpecker_endpoint)

    woodpecker_endpoint.refresh_from_db()
    new_url = woodpecker_endpoint.get_absolute_url()
    assert new_url != old_url
    assert f"http://testserver{new_url}" in messages_of(response)[0]
    assert "old URL keeps working for 24 hours" in messages_of(response)[0]
    body = js_json(payload("woodpecker/link_clicked"))
    assert client.post(old_url, body, content_type="application/json").status_code == 200
    assert post_webhook(client, woodpecker_endpoint, body).status_code == 200


def test_changing_the_secret_keeps_the_old_one_valid_for_a_grace_period(
    admin_client: Client, client: Client, dub_endpoint: WebhookEndpoint
) -> None:
    old_secret = dub_endpoint.secret
    body = js_json(payload("dub/link_clicked_real"))

    admin_client.post(
        f"/admin/analytics/webhookendpoint/{dub_endpoint.pk}/change/",
        {
            "name": dub_endpoint.name,
            "secret": "whsec_" + "c" * 32,
            "time_zone": "UTC",
            "is_active": "on",
        },
    )

    dub_endpoint.refresh_from_db()
    assert dub_endpoint.secret == "whsec_" + "c" * 32
    assert dub_endpoint.valid_secrets() == ["whsec_" + "c" * 32, old_secret]
    signed_with_old = {"Dub-Signature": sign(old_secret, body)}
    response = client.post(
        dub_endpoint.get_absolute_url(),
        body,
        content_type="application/json",
        headers=signed_with_old,
    )
    assert response.status_code == 200


def test_disable_and_enable_actions(
    admin_client: Client, client: Client, woodpecker_endpoint: WebhookEndpoint
) -> None:
    body = js_json(payload("woodpecker/link_clicked"))
    # A first delivery: this process now authenticates from its copy of the endpoints.
    assert post_webhook(client, woodpecker_endpoint, body).status_code == 200

    response = run_action(admin_client, WebhookEndpoint, "disable", woodpecker_endpoint)
    assert messages_of(response) == [
        "Disabled 1 endpoint(s); their URLs answer 404 to senders within 5 s."
    ]
    assert post_webhook(client, woodpecker_endpoint, body).status_code == 404

    run_action(admin_client, WebhookEndpoint, "enable", woodpecker_endpoint)
    assert post_webhook(client, woodpecker_endpoint, body).status_code == 200


def test_only_an_unused_endpoint_can_be_deleted(
    admin_client: Client,
    client: Client,
    dub_endpoint: WebhookEndpoint,
    woodpecker_endpoint: WebhookEndpoint,
) -> None:
    post_webhook(client, dub_endpoint, dub_body())

    def delete_page(endpoint: WebhookEndpoint) -> str:
        return reverse("admin:analytics_webhookendpoint_delete", args=[endpoint.pk])

    assert admin_client.get(delete_page(dub_endpoint)).status_code == 403
    assert admin_client.get(delete_page(woodpecker_endpoint)).status_code == 200
    actions = admin_client.get(changelist(WebhookEndpoint)).content.decode()
    assert 'value="delete_selected"' not in actions


# --- campaigns, links, contacts ------------------------------------------------------------------


def test_campaign_list_counts_clicks_in_the_same_query(
    admin_client: Client,
    make_click: Callable[..., Click],
    django_assert_num_queries: Callable,
) -> None:
    when = datetime(2025, 3, 1, tzinfo=UTC)
    campaigns = [
        Campaign.objects.create(sender="dub", external_id=f"c{i}", name=f"Campaign {i}")
        for i in range(6)
    ]
    for i, campaign in enumerate(campaigns):
        for _ in range(i):
            make_click(when, campaign=campaign)

    with django_assert_num_queries(CAMPAIGN_LIST_QUERIES):
        response = admin_client.get(changelist(Campaign))

    totals = {c.external_id: c.clicks_total for c in response.context["cl"].result_list}
    assert totals == {f"c{i}": i for i in range(6)}
    clicks_of_c5 = f"{changelist(Click)}?campaign__id__exact={campaigns[5].pk}"
    assert f'<a href="{clicks_of_c5}">5</a>' in response.content.decode()
    assert admin_client.get(clicks_of_c5).context["cl"].result_count == 5


def test_campaign_search_and_read_only_catalog(admin_client: Client, stored: None) -> None:
    found = admin_client.get(changelist(Campaign) + "?q=Summer").context["cl"].result_list
    assert [c.name for c in found] == ["Summer Referral Push"]
    assert admin_client.get(changelist(Contact) + "?q=erlich").context["cl"].result_count == 1
    assert admin_client.get(changelist(Link) + "?q=acme-launch").context["cl"].result_count == 1

    for model in (Campaign, Link, Contact):
        assert (
            admin_client.get(reverse(f"admin:analytics_{model._meta.model_name}_add")).status_code
            == 403
        )
        obj = model.objects.first()
        page = admin_client.get(change_page(obj)).content.decode()
        assert 'name="_save"' not in page
        assert admin_client.post(change_page(obj), {}).status_code == 403
