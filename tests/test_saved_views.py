"""Saved views and their pages: who may see, change and share them, and what saving keeps."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import AlertRule, ReportSchedule, SavedView, SharedLink


@pytest.fixture
def other_marketer(make_marketer):
    return make_marketer("otto")


@pytest.fixture
def mine(marketer):
    return SavedView.objects.create(
        name="Germany", owner=marketer, query="range=7d&tz=UTC&country=DE"
    )


@pytest.fixture
def team_view(other_marketer):
    return SavedView.objects.create(
        name="Team", owner=other_marketer, query="range=30d&tz=UTC", visibility="team"
    )


@pytest.fixture
def private_view(other_marketer):
    return SavedView.objects.create(name="Otto's", owner=other_marketer, query="range=30d&tz=UTC")


def _writes(view: SavedView) -> list[tuple[str, dict]]:
    """Every POST route that changes a view or what hangs off it, with valid data."""
    link = SharedLink.objects.create(label="x", saved_view=view)
    report = ReportSchedule.objects.create(saved_view=view, frequency="weekly", recipients="a@b.co")
    alert = AlertRule.objects.create(
        name="a", kind="bot_share", threshold=50, saved_view=view, recipients="a@b.co"
    )
    return [
        (f"/views/{view.pk}/", {"name": "Renamed", "visibility": "team", "query": "range=7d"}),
        (f"/views/{view.pk}/links/", {"label": "Client"}),
        (f"/views/{view.pk}/reports/", {"frequency": "weekly", "recipients": "a@b.co"}),
        (
            f"/views/{view.pk}/alerts/",
            {"name": "n", "kind": "bot_share", "threshold": 50, "recipients": "a@b.co"},
        ),
        (f"/links/{link.pk}/revoke/", {}),
        (f"/reports/{report.pk}/delete/", {}),
        (f"/alerts/{alert.pk}/delete/", {}),
        (f"/views/{view.pk}/delete/", {}),
    ]


def test_saving_the_dashboard_keeps_its_query_canonical(marketer_client, marketer):
    response = marketer_client.post(
        "/views/",
        {"name": "German mobiles", "visibility": "personal", "query": "device=mobile&country=DE"},
    )

    view = SavedView.objects.get()
    assert (view.owner, view.name) == (marketer, "German mobiles")
    assert view.query == "range=30d&tz=UTC&country=DE&device=mobile"
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/?{view.query}"


def test_saving_refuses_a_name_already_taken_ignoring_case(marketer_client, mine):
    response = marketer_client.post(
        "/views/", {"name": "GERMANY", "visibility": "personal", "query": "range=7d"}, follow=True
    )

    assert SavedView.objects.count() == 1
    assert "You already have a view named “GERMANY”." in response.content.decode()


def test_saving_refuses_a_query_the_dashboard_would_refuse(marketer_client):
    response = marketer_client.post(
        "/views/", {"name": "Bad", "visibility": "personal", "query": "range=forever"}, follow=True
    )

    assert not SavedView.objects.exists()
    assert "range must be one of" in response.content.decode()


def test_list_shows_own_and_team_views_not_others_personal_ones(
    marketer_client, mine, team_view, private_view, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = marketer_client.get("/views/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Germany" in body and "Team" in body and "Otto&#x27;s" not in body


def test_another_marketers_personal_view_is_not_found_anywhere(marketer_client, private_view):
    paths = [f"/views/{private_view.pk}/", "/reports/0/preview.html"]
    for path, data in _writes(private_view):
        response = marketer_client.post(path, data)
        assert response.status_code == 404, path
    for path in paths:
        assert marketer_client.get(path).status_code == 404
    assert SavedView.objects.filter(pk=private_view.pk).exists()


def test_a_team_view_opens_for_everyone_but_changes_only_for_its_owner(marketer_client, team_view):
    assert marketer_client.get(f"/views/{team_view.pk}/").status_code == 200
    for path, data in _writes(team_view):
        response = marketer_client.post(path, data)
        assert response.status_code == 403, path
    team_view.refresh_from_db()
    assert team_view.name == "Team"
    assert team_view.shared_links.get().revoked_at is None


def test_staff_may_change_anyones_view(client, admin_user, private_view):
    client.force_login(admin_user)

    for path, data in _writes(private_view):
        response = client.post(path, data)
        assert response.status_code == 302, path
    assert not SavedView.objects.filter(pk=private_view.pk).exists()


def test_the_owner_may_make_every_change(marketer_client, mine):
    for path, data in _writes(mine):
        response = marketer_client.post(path, data)
        assert response.status_code == 302, (path, response.content[:500])


@pytest.mark.parametrize(
    "path", ["/views/", "/views/1/", "/reports/1/preview.html", "/reports/1/preview.txt"]
)
def test_pages_send_anonymous_visitors_to_sign_in(client, db, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/views/", "/views/1/"])
def test_pages_refuse_accounts_without_the_marketer_role(client, django_user_model, path):
    client.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))

    assert client.get(path).status_code == 403


def test_shared_link_form_sets_password_and_expiry(marketer_client, mine):
    tomorrow = (timezone.now() + timedelta(days=1)).date()

    marketer_client.post(
        f"/views/{mine.pk}/links/",
        {"label": "ACME", "password": "open sesame", "expires_on": tomorrow.isoformat()},
    )

    link = SharedLink.objects.get()
    assert link.check_password("open sesame") and not link.check_password("guess")
    assert link.expires_at.date() == tomorrow + timedelta(days=1)
    assert (link.saved_view, link.created_by) == (mine, mine.owner)


def test_view_page_lists_the_link_url_and_revoking_hides_it(marketer_client, mine):
    link = SharedLink.objects.create(label="ACME", saved_view=mine)
    assert f"/s/{link.token}/" in marketer_client.get(f"/views/{mine.pk}/").content.decode()

    marketer_client.post(f"/links/{link.pk}/revoke/")

    body = marketer_client.get(f"/views/{mine.pk}/").content.decode()
    assert f"/s/{link.token}/" not in body and "Revoked" in body


def test_report_form_refuses_bad_addresses(marketer_client, mine):
    response = marketer_client.post(
        f"/views/{mine.pk}/reports/", {"frequency": "weekly", "recipients": "boss, a@b.co"}
    )

    assert response.status_code == 400
    assert "Not an e-mail address: boss." in response.content.decode()
    assert not ReportSchedule.objects.exists()


def test_alert_form_explains_a_threshold_out_of_range(marketer_client, mine):
    response = marketer_client.post(
        f"/views/{mine.pk}/alerts/",
        {"name": "Drop", "kind": "clicks_drop", "threshold": 150, "recipients": "a@b.co"},
    )

    assert response.status_code == 400
    assert "A drop is below 100%" in response.content.decode()


def test_view_page_queries_do_not_grow_with_history(
    marketer_client, mine, django_assert_max_num_queries
):
    for i in range(5):
        SharedLink.objects.create(label=f"l{i}", saved_view=mine)
        ReportSchedule.objects.create(saved_view=mine, frequency="weekly", recipients="a@b.co")
        AlertRule.objects.create(
            name=f"a{i}", kind="bot_share", threshold=50, saved_view=mine, recipients="a@b.co"
        )

    with django_assert_max_num_queries(14):
        response = marketer_client.get(f"/views/{mine.pk}/")

    assert response.status_code == 200


def test_report_preview_shows_the_email_html_and_text(marketer_client, mine):
    report = ReportSchedule.objects.create(saved_view=mine, frequency="weekly", recipients="a@b.co")

    html = marketer_client.get(f"/reports/{report.pk}/preview.html")
    text = marketer_client.get(f"/reports/{report.pk}/preview.txt")

    assert html.status_code == text.status_code == 200
    assert 'src="data:image/png;base64,' in html.content.decode()
    assert "style-src 'unsafe-inline'" in html["Content-Security-Policy"]
    assert "script-src" not in html["Content-Security-Policy"]
    assert text.content.decode().startswith("Subject: Germany: ")


def test_view_page_shows_report_periods_as_days_of_the_views_zone(marketer_client, marketer):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from analytics.models import ReportDelivery

    berlin = ZoneInfo("Europe/Berlin")
    view = SavedView.objects.create(name="B", owner=marketer, query="range=7d&tz=Europe/Berlin")
    report = ReportSchedule.objects.create(saved_view=view, frequency="weekly", recipients="a@b.co")
    ReportDelivery.objects.create(
        schedule=report,
        period_start=datetime(2026, 11, 23, tzinfo=berlin),
        period_end=datetime(2026, 11, 30, tzinfo=berlin),
    )

    body = marketer_client.get(f"/views/{view.pk}/").content.decode()

    assert "Nov 23, 2026 to Nov 29, 2026" in body


def test_a_team_view_hides_its_link_addresses_from_those_who_cannot_manage_it(
    marketer_client, team_view
):
    link = SharedLink.objects.create(label="Client", saved_view=team_view)

    body = marketer_client.get(f"/views/{team_view.pk}/").content.decode()

    assert "Client" in body and link.token not in body


def test_a_view_whose_campaign_is_gone_says_so_on_every_page(marketer_client, marketer, client):
    view = SavedView.objects.create(name="Gone", owner=marketer, query="campaign=999999")
    report = ReportSchedule.objects.create(saved_view=view, frequency="weekly", recipients="a@b.co")
    link = SharedLink.objects.create(label="Client", saved_view=view)

    page = marketer_client.get(f"/views/{view.pk}/")
    preview = marketer_client.get(f"/reports/{report.pk}/preview.html")
    client.logout()
    shared = client.get(f"/s/{link.token}/")

    assert page.status_code == 200 and "filters no longer work" in page.content.decode()
    assert preview.status_code == 400 and "no longer works" in preview.content.decode()
    assert shared.status_code == 410 and "no longer works" in shared.content.decode()
