"""The developer API's lists: clicks (the rows of the CSV export) and campaigns.

Same access and filters as the stats API: token or session, the Marketer permission, the
dashboard's query-string filters parsed by ClickFilter.
"""

from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import stats
from analytics.api import _StatsView
from analytics.api_schema import (
    ERROR_RESPONSES,
    FILTER_PARAMETERS,
    RETRY_AFTER_HEADER,
    ErrorSerializer,
)
from analytics.exports import CLICK_COLUMNS, TIMESTAMP_FORMAT
from analytics.models import Campaign, Click, Sender

# Columns read from related rows, which come in the same query through select_related.
_RELATED = ("campaign__canonical", "recipient", "sharer")
_FROM_RELATED = {
    "canonical_campaign_id": "campaign__canonical_id",
    "canonical_campaign": "campaign__canonical__name",
    "campaign": "campaign__name",
    "campaign_external_id": "campaign__external_id",
    "recipient_email": "recipient__email",
    "sharer_email": "sharer__email",
}
# Both lists page alike; DRF caps page_size at max_page_size and ignores one it cannot read.
PAGE_SIZE_DESCRIPTION = (
    "Rows per page: 100 unless given, at most 1000 (a larger value gives 1000, a value that is "
    "not a positive whole number gives 100)."
)
# Only what a row shows: a campaign's details JSON can be large.
_ONLY = [
    *(name for name in CLICK_COLUMNS if name not in _FROM_RELATED),
    *_RELATED,
    *_FROM_RELATED.values(),
]


class ClickSerializer(serializers.ModelSerializer):
    """A click with the columns of the CSV export, in the same order and with the same times."""

    occurred_at = serializers.DateTimeField(
        format=TIMESTAMP_FORMAT, default_timezone=UTC, read_only=True
    )
    canonical_campaign_id = serializers.IntegerField(
        source="campaign.canonical_id",
        allow_null=True,
        read_only=True,
        help_text="The campaign as the dashboard counts it: the value the campaign filter takes.",
    )
    canonical_campaign = serializers.CharField(
        source="campaign.canonical.name", allow_null=True, read_only=True
    )
    campaign = serializers.CharField(
        source="campaign.name",
        allow_null=True,
        read_only=True,
        help_text="The sender's campaign (a Dub utm_campaign, a Woodpecker campaign…).",
    )
    campaign_external_id = serializers.CharField(
        source="campaign.external_id", allow_null=True, read_only=True
    )
    recipient_email = serializers.CharField(
        source="recipient.email", allow_null=True, read_only=True
    )
    sharer_email = serializers.CharField(source="sharer.email", allow_null=True, read_only=True)

    class Meta:
        model = Click
        fields = CLICK_COLUMNS
        read_only_fields = CLICK_COLUMNS


class ClickCursorPagination(CursorPagination):
    """Newest first, resumable: a cursor names the last row seen by (occurred_at, id).

    DRF's own cursor keeps only occurred_at plus an offset among equal times, capped at 1000, so
    a burst of clicks sharing a timestamp could repeat or skip rows. A key on both columns is
    unique, needs no offset, and rows arriving meanwhile never shift a page.
    """

    ordering = ("-occurred_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    page_size_query_description = PAGE_SIZE_DESCRIPTION

    def paginate_queryset(
        self, queryset: QuerySet[Click], request: Request, view: APIView | None = None
    ) -> list[Click]:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        key = self._key(self.cursor.position) if self.cursor and self.cursor.position else None
        backwards = bool(self.cursor and self.cursor.reverse)
        if backwards:
            queryset = queryset.order_by("occurred_at", "id")
        else:
            queryset = queryset.order_by(*self.ordering)
        if key:
            at, pk = key
            # The redundant bound on occurred_at lets PostgreSQL use the time index.
            if backwards:
                after = Q(occurred_at__gt=at) | Q(occurred_at=at, id__gt=pk)
                queryset = queryset.filter(after, occurred_at__gte=at)
            else:
                before = Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk)
                queryset = queryset.filter(before, occurred_at__lte=at)
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if backwards:
            self.page.reverse()
        self.has_next = key is not None if backwards else more
        self.has_previous = more if backwards else key is not None
        self.display_page_controls = self.has_next or self.has_previous
        return self.page

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:
            # Walking back found nothing newer: the cursor's row starts the first page.
            return self.encode_cursor(Cursor(offset=0, reverse=False, position=None))
        position = self._position(self.page[-1])
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=position))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        position = self._position(self.page[0]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=position))

    @staticmethod
    def _position(click: Click) -> str:
        return f"{click.occurred_at.isoformat()}|{click.pk}"

    def _key(self, position: str) -> tuple[datetime, int]:
        at, _, pk = position.rpartition("|")
        try:
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None or not pk.isdigit():
                raise ValueError(position)
        except ValueError:
            raise NotFound(self.invalid_cursor_message) from None
        return moment, int(pk)


class ClickListView(_StatsView, ListAPIView):
    """The clicks of the filtered view, newest first (equal times: highest id first), with a
    cursor to page through them; rows arriving meanwhile never shift a page."""

    serializer_class = ClickSerializer
    pagination_class = ClickCursorPagination
    # Tells the schema generator the model without running get_queryset().
    queryset = Click.objects.none()

    def get_queryset(self) -> QuerySet[Click]:
        f = self.click_filter(self.request)
        return f.clicks().select_related(*_RELATED).only(*_ONLY)

    @extend_schema(
        tags=["clicks"],
        parameters=[*FILTER_PARAMETERS, RETRY_AFTER_HEADER],
        responses={
            200: ClickSerializer,
            **ERROR_RESPONSES,
            404: OpenApiResponse(ErrorSerializer, description="The cursor is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class SenderCampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The value the sender_campaign filter takes.")
    name = serializers.CharField(help_text="The campaign's name at the sender, else its id there.")
    external_id = serializers.CharField(help_text="The campaign's id at the sender.")
    sender = serializers.ChoiceField(choices=Sender.choices)
    sender_label = serializers.CharField()
    clicks = serializers.IntegerField(help_text="Its clicks in the period that match every filter.")
    unique = serializers.IntegerField(help_text="The unique clicks among them.")
    last_click = serializers.DateTimeField(
        allow_null=True,
        help_text="Its most recent click in the period that matches every filter; null if none.",
    )


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The value the campaign filter takes.")
    name = serializers.CharField(
        help_text="The name marketers gave it; for a sender campaign on its own, that campaign's "
        "name (else its utm_campaign, else its id at the sender)."
    )
    automatic = serializers.BooleanField(
        help_text="True for a sender campaign no rule unifies with others, listed on its own."
    )
    senders = serializers.ListField(
        child=serializers.ChoiceField(choices=Sender.choices),
        help_text="The senders of its sender campaigns listed below.",
    )
    clicks = serializers.IntegerField(help_text="Its clicks in the period that match every filter.")
    unique = serializers.IntegerField(
        help_text="The unique clicks among them: the sum of its sender campaigns' (a visitor is "
        "known per sender campaign)."
    )
    last_click = serializers.DateTimeField(
        allow_null=True,
        help_text="Its most recent click in the period that matches every filter; null if none.",
    )
    sparkline = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Those clicks per bucket of the period, as /api/stats/timeseries/ buckets them.",
    )
    sender_campaigns = SenderCampaignSerializer(
        many=True,
        help_text="The campaigns in the senders' own tools it unifies (those the sender and "
        "sender_campaign filters allow), busiest first, with their own counts.",
    )


class CampaignPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    page_size_query_description = PAGE_SIZE_DESCRIPTION


class CampaignListView(_StatsView, ListAPIView):
    """Campaigns with their clicks in the period, busiest first (the campaigns page's numbers).

    A campaign is canonical: the sender campaigns a marketer's rules unify (a Dub utm_campaign, a
    Woodpecker campaign, an Opptima newsletter…), or a sender campaign no rule claims, on its
    own. Its sender campaigns are nested with their own counts; the campaign filter takes the
    campaign's id, sender_campaign a sender campaign's.

    Every filter applies to the counts, the last click and the sparkline. Every campaign the
    sender and campaign filters allow is listed, with zero when none of its clicks match; equal
    counts are in name order.
    """

    serializer_class = CampaignSerializer
    pagination_class = CampaignPagination

    def get_queryset(self) -> QuerySet[Campaign]:
        # The browsable API asks for one to draw its filter form (it has none to draw); the
        # rows come from stats.campaigns.
        return Campaign.objects.none()

    @extend_schema(
        tags=["campaigns"],
        parameters=[*FILTER_PARAMETERS, RETRY_AFTER_HEADER],
        responses={
            200: CampaignSerializer,
            **ERROR_RESPONSES,
            404: OpenApiResponse(ErrorSerializer, description="There is no such page."),
        },
    )
    def get(self, request: Request) -> Response:
        rows = stats.campaigns(self.click_filter(request))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
