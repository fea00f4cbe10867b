"""Canonical campaigns: which marketer-named campaign each sender campaign belongs to.

One campaign lives in several tools under several names (a Dub utm_campaign, a Woodpecker
campaign, an Opptima newsletter). A marketer groups them into one ``CanonicalCampaign`` with
``CampaignRule``s, the first matching rule by priority winning. Every sender campaign belongs to
exactly one canonical campaign: a rule's, else an automatic one of its own, named after it.

Clicks and rollups keep the sender campaign; reads reach the canonical level through the
campaign table (``analytics.filters``, ``analytics.rollup_reads``). Re-mapping therefore rewrites
campaign rows only, never clicks or rollups: a few statements whatever the click count.

The writes here keep that true: ``save``, ``delete`` and ``move_rule`` change rules or
canonical campaigns and re-map in the same transaction; ``remap`` re-maps everything;
``assign_new`` places the campaigns of an intake batch; ``canonical_for`` places one campaign
saved through the ORM (``Campaign.save``). Matching runs in Python over the campaign table
(thousands of rows), never over clicks.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import QuerySet

from analytics.models import Campaign, CampaignRule, CanonicalCampaign, Link, Sender

if TYPE_CHECKING:
    from analytics.campaign_suggestions import Suggestion

Field = CampaignRule.Field
Match = CampaignRule.Match
Condition = Callable[[str], bool]

# The campaign columns rules read, and what placing a campaign needs to know of it.
_CAMPAIGN_VALUES = (
    "id",
    "sender",
    "external_id",
    "name",
    "utm_campaign",
    "destination_url",
    "canonical_id",
    "canonical__is_automatic",
    "canonical__name",
)


@dataclass(frozen=True)
class Target:
    """A sender campaign as rules see it."""

    id: int
    sender: str
    external_id: str
    name: str
    utm_campaign: str
    # The campaign's destination URL and, for Dub, those of its links (same utm_campaign).
    urls: tuple[str, ...]
    canonical_id: int | None = None
    canonical_is_automatic: bool = False
    canonical_name: str = ""

    @property
    def label(self) -> str:
        """What an automatic canonical campaign is named: the name the sender shows."""
        return (self.name or self.utm_campaign or self.external_id)[:300]

    @property
    def sender_label(self) -> str:
        return Sender(self.sender).label

    def values(self, field: str) -> tuple[str, ...]:
        if field == Field.NAME:
            return (self.name,)
        if field == Field.UTM_CAMPAIGN:
            return (self.utm_campaign,)
        return self.urls


@dataclass(frozen=True)
class Rule:
    """A compiled ``CampaignRule``: its condition and where it puts what it matches."""

    id: int | None  # None for a rule being previewed before it is saved
    canonical_id: int | None
    field: str
    priority: int
    condition: Condition

    @property
    def order(self) -> tuple[int, float]:
        # An unsaved rule comes after the saved ones of its priority, as its id will.
        return (self.priority, self.id if self.id is not None else float("inf"))

    def matches(self, target: Target) -> bool:
        return any(self.condition(value) for value in target.values(self.field))


def condition(match: str, pattern: str) -> Condition:
    """The test a rule applies to a value. Raises ``re.error`` for a bad regular expression.

    Case-insensitive kinds compare case-folded text ("Straße" is "STRASSE"); a regular
    expression is searched anywhere in the value, case-sensitively unless it says ``(?i)``.
    """
    if match == Match.EXACT:
        return lambda value: value == pattern
    folded = pattern.casefold()
    if match == Match.IEXACT:
        return lambda value: value.casefold() == folded
    if match == Match.PREFIX:
        return lambda value: value.casefold().startswith(folded)
    if match == Match.REGEX:
        compiled = re.compile(pattern)
        return lambda value: compiled.search(value) is not None
    raise ValueError(f"Unknown match kind {match!r}.")


@lru_cache(maxsize=8)
def _compiled(rows: tuple[tuple[int, int, str, int, str, str], ...]) -> tuple[Rule, ...]:
    # Keyed by the rules' rows: intake reads them every batch, and compiles only after a change.
    return tuple(
        Rule(pk, canonical_id, field, priority, condition(match, pattern))
        for pk, canonical_id, field, priority, match, pattern in rows
    )


def compile_rule(rule: CampaignRule) -> Rule:
    """One rule, saved or not. Raises ``re.error`` for a bad regular expression."""
    return Rule(
        rule.pk, rule.canonical_id, rule.field, rule.priority, condition(rule.match, rule.pattern)
    )


def rules() -> tuple[Rule, ...]:
    """Every rule in the order it applies (priority, then id): one small query."""
    rows = CampaignRule.objects.order_by("priority", "id").values_list(
        "id", "canonical_id", "field", "priority", "match", "pattern"
    )
    return _compiled(tuple(rows))


def first_match(ordered: Iterable[Rule], target: Target) -> Rule | None:
    return next((rule for rule in ordered if rule.matches(target)), None)


def targets(campaigns: QuerySet[Campaign], with_urls: bool) -> list[Target]:
    """The campaigns as rules see them; Dub link URLs are read only when a rule needs them."""
    rows = list(campaigns.order_by("id").values_list(*_CAMPAIGN_VALUES))
    links: dict[tuple[str, str], list[str]] = {}
    if with_urls and rows:
        utms = {utm for _, _, _, _, utm, *_ in rows if utm}
        found = Link.objects.filter(utm_campaign__in=utms).exclude(destination_url="")
        for sender, utm, url in found.values_list("sender", "utm_campaign", "destination_url"):
            links.setdefault((sender, utm), []).append(url)
    made = []
    for pk, sender, external_id, name, utm, url, canonical_id, automatic, canonical_name in rows:
        linked = links.get((sender, utm), []) if utm else []
        urls = tuple(u for u in (url, *linked) if u)
        made.append(Target(pk, sender, external_id, name, utm, urls, canonical_id,
                           bool(automatic), canonical_name or ""))  # fmt: skip
    return made


# --- Placing campaigns ------------------------------------------------------------------------


@dataclass(frozen=True)
class Remapped:
    """What a re-mapping changed."""

    campaigns: int  # sender campaigns looked at
    moved: tuple[int, ...]  # ids of the sender campaigns whose canonical campaign changed
    created: int  # automatic canonical campaigns made
    deleted: int  # automatic canonical campaigns removed, left with no campaign


def lock() -> None:
    """Serialize with intake: the processing worker's advisory lock, held for its whole batch.

    A batch stores new campaigns and places them by the rules it reads; a change of rules made
    meanwhile would miss those campaigns. Holding the same lock, a re-mapping sees every
    campaign a batch stored, and a batch after it sees the new rules. Take it before writing
    anything, so a batch waiting on a campaign row this transaction locked cannot deadlock.
    """
    from analytics.intake import LOCK_KEY  # intake imports this module through intake_rows

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def remap() -> Remapped:
    """Apply the rules to every sender campaign: a few statements, whatever the click count."""
    with transaction.atomic():
        lock()
        return _remap()


def _remap() -> Remapped:
    ordered = rules()
    found = targets(Campaign.objects.all(), _needs_urls(ordered))
    return _place(found, ordered, sweep_all=True)


def assign_new(campaign_ids: list[int]) -> None:
    """Place the campaigns an intake batch stored: new ones, and any whose name, utm_campaign
    or URL changed so that another rule (or none) now matches.

    Called by intake in the transaction that stored them, under its lock (see ``lock``). Costs
    the batch two small SELECTs (the rules, the campaigns) when it names campaigns, and writes
    only what changed.
    """
    if not campaign_ids:
        return
    ordered = rules()
    found = targets(Campaign.objects.filter(pk__in=campaign_ids), _needs_urls(ordered))
    _place(found, ordered, sweep_all=False)


def canonical_for(campaign: Campaign) -> CanonicalCampaign:
    """The canonical campaign of one campaign about to be saved with none (``Campaign.save``):
    the first matching rule's, else a new automatic one. Intake uses ``assign_new`` instead."""
    ordered = rules()
    urls = (campaign.destination_url,) if campaign.destination_url else ()
    if campaign.utm_campaign and _needs_urls(ordered):
        found = Link.objects.filter(sender=campaign.sender, utm_campaign=campaign.utm_campaign)
        urls += tuple(found.exclude(destination_url="").values_list("destination_url", flat=True))
    target = Target(
        0, campaign.sender, campaign.external_id, campaign.name, campaign.utm_campaign, urls
    )
    rule = first_match(ordered, target)
    if rule is not None:
        return CanonicalCampaign.objects.get(pk=rule.canonical_id)
    return CanonicalCampaign.objects.create(name=target.label, is_automatic=True)


def _needs_urls(ordered: Iterable[Rule]) -> bool:
    return any(rule.field == Field.URL for rule in ordered)


def _place(found: list[Target], ordered: tuple[Rule, ...], sweep_all: bool) -> Remapped:
    """Give each target its canonical campaign: the first matching rule's, else the automatic
    one it has, else a new automatic one. Automatic campaigns left empty are deleted: all of
    them when ``sweep_all``, else those the targets left."""
    moves: dict[int, int] = {}
    own: list[Target] = []
    renames: dict[int, str] = {}
    kept_automatic: set[int] = set()
    for target in found:
        rule = first_match(ordered, target)
        if rule is not None:
            if rule.canonical_id != target.canonical_id:
                moves[target.id] = rule.canonical_id
        elif target.canonical_is_automatic and target.canonical_id not in kept_automatic:
            # Its own still: keep it (and its id in bookmarked URLs), named as it is now.
            kept_automatic.add(target.canonical_id)
            if target.canonical_name != target.label:
                renames[target.canonical_id] = target.label
        else:
            own.append(target)
    made = CanonicalCampaign.objects.bulk_create(
        CanonicalCampaign(name=target.label, is_automatic=True) for target in own
    )
    moves |= {target.id: canonical.pk for target, canonical in zip(own, made, strict=True)}
    _update_campaigns(moves)
    _rename(renames)
    left = None if sweep_all else [t.canonical_id for t in found if t.id in moves]
    deleted = _delete_empty_automatic(left)
    return Remapped(len(found), tuple(sorted(moves)), len(made), deleted)


def _update_campaigns(moves: dict[int, int]) -> None:
    if not moves:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Campaign._meta.db_table} AS c SET canonical_id = m.canonical"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS m (id, canonical) WHERE c.id = m.id",
            [list(moves), list(moves.values())],
        )


def _rename(renames: dict[int, str]) -> None:
    if not renames:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CanonicalCampaign._meta.db_table} AS cc SET name = r.name"
            " FROM unnest(%s::bigint[], %s::text[]) AS r (id, name) WHERE cc.id = r.id",
            [list(renames), list(renames.values())],
        )


def _delete_empty_automatic(among: list[int | None] | None) -> int:
    """Delete automatic canonical campaigns no campaign belongs to (``among`` these, or all)."""
    if among is not None:
        among = [pk for pk in among if pk is not None]
        if not among:
            return 0
    table, campaigns = CanonicalCampaign._meta.db_table, Campaign._meta.db_table
    rules_table = CampaignRule._meta.db_table
    sql = (
        f"DELETE FROM {table} AS cc WHERE cc.is_automatic"
        f" AND NOT EXISTS (SELECT 1 FROM {campaigns} c WHERE c.canonical_id = cc.id)"
        # A rule may not point at an automatic campaign (the forms offer none); if one does,
        # deleting the campaign under it would break the rule's foreign key.
        f" AND NOT EXISTS (SELECT 1 FROM {rules_table} r WHERE r.canonical_id = cc.id)"
    )
    params: list[object] = []
    if among is not None:
        sql += " AND cc.id = ANY(%s::bigint[])"
        params.append(among)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- Changing rules and canonical campaigns ----------------------------------------------------


def save(instance: CanonicalCampaign | CampaignRule) -> Remapped:
    """Save a canonical campaign or a rule and re-map, in one transaction."""
    with transaction.atomic():
        lock()
        instance.save()
        return _remap()


def delete(instance: CanonicalCampaign | CampaignRule) -> Remapped:
    """Delete a canonical campaign (its rules with it) or a rule, and re-map: the campaigns it
    held go back to automatic campaigns of their own."""
    with transaction.atomic():
        lock()
        instance.delete()
        return _remap()


def delete_all(instances: QuerySet[CanonicalCampaign] | QuerySet[CampaignRule]) -> Remapped:
    """``delete`` for many (the admin's bulk action)."""
    with transaction.atomic():
        lock()
        instances.delete()
        return _remap()


def move_rule(rule: CampaignRule, offset: int) -> Remapped:
    """Move a rule ``offset`` places earlier (negative) or later in the order rules apply, and
    renumber the priorities 10, 20, 30… so that the order reads plainly."""
    with transaction.atomic():
        lock()
        ordered = list(CampaignRule.objects.select_for_update().order_by("priority", "id"))
        index = next(i for i, r in enumerate(ordered) if r.pk == rule.pk)
        moved = ordered.pop(index)
        ordered.insert(max(0, min(len(ordered), index + offset)), moved)
        for position, item in enumerate(ordered, start=1):
            item.priority = position * 10
        CampaignRule.objects.bulk_update(ordered, ["priority"])
        return _remap()


def next_priority() -> int:
    """A new rule's priority: after every existing rule."""
    last = CampaignRule.objects.order_by("-priority").values_list("priority", flat=True).first()
    return (last or 0) + 10


def accept(suggestion: "Suggestion") -> CanonicalCampaign:
    """Unify a suggestion's campaigns: into the marketer's campaign some of them belong to,
    else one named as the suggestion says (the marketer's of that name, if any), with an iexact
    rule per spelling it needs, then re-map."""
    with transaction.atomic():
        lock()
        canonical = (
            CanonicalCampaign.objects.filter(pk=suggestion.canonical_id, is_automatic=False).first()
            if suggestion.canonical_id is not None
            else CanonicalCampaign.objects.filter(
                is_automatic=False, name__iexact=suggestion.name
            ).first()
        ) or CanonicalCampaign.objects.create(name=suggestion.name)
        existing = {
            (field, pattern.casefold())
            for field, pattern in CampaignRule.objects.filter(match=Match.IEXACT).values_list(
                "field", "pattern"
            )
        }
        wanted = [(f, s) for f, s in suggestion.conditions if (f, s.casefold()) not in existing]
        first = next_priority()
        CampaignRule.objects.bulk_create(
            CampaignRule(canonical=canonical, field=field, match=Match.IEXACT, pattern=spelling,
                         priority=first + 10 * index)
            for index, (field, spelling) in enumerate(wanted)
        )  # fmt: skip
        _remap()
        return canonical
