"""What the page that unifies campaigns shows: rules, previews, sender campaigns and clicks.

Reads only; every write is in analytics.campaigns. Rules are matched in Python over the campaign
table (thousands of rows); clicks are counted by the rollups, one statement for every campaign.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db.models.functions import Lower

from analytics import rollup_reads
from analytics.campaign_suggestions import Suggestion, suggestions
from analytics.campaigns import (
    Field,
    Target,
    compile_rule,
    first_match,
    rules,
    targets,
)
from analytics.filters import SENDER_CAMPAIGN, ClickFilter
from analytics.models import Campaign, CampaignRule, CanonicalCampaign

# Campaigns on their own listed on the page, busiest first; the campaigns page has them all.
OWN_LISTED = 200


# --- Preview ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A sender campaign a previewed rule matches, and whether the rule would take it: an
    earlier rule that matches it too takes it instead (the first match wins)."""

    target: Target
    taken: bool
    elsewhere: str = ""  # when not taken: the campaign the earlier rule puts it in


def preview(rule: CampaignRule) -> list[Claim]:
    """The sender campaigns an unsaved or edited rule would match, before it is saved.
    Raises ``re.error`` for a bad regular expression (the rule form checks it first)."""
    candidate = compile_rule(rule)
    others = [r for r in rules() if rule.pk is None or r.id != rule.pk]
    ordered = sorted([*others, candidate], key=lambda r: r.order)
    with_urls = any(r.field == Field.URL for r in ordered)
    matched = [t for t in targets(Campaign.objects.all(), with_urls) if candidate.matches(t)]
    winners = [first_match(ordered, t) for t in matched]
    names = dict(
        CanonicalCampaign.objects.filter(
            pk__in={w.canonical_id for w in winners if w is not candidate}
        ).values_list("pk", "name")
    )
    return [
        Claim(target, winner is candidate, names.get(winner.canonical_id, ""))
        for target, winner in zip(matched, winners, strict=True)
    ]


# --- The page -----------------------------------------------------------------------------------


@dataclass
class Member:
    """A sender campaign with its clicks in the period."""

    target: Target
    clicks: int = 0
    unique: int = 0


@dataclass
class Unified:
    """A marketer's canonical campaign: its rules, its sender campaigns and their clicks."""

    canonical: CanonicalCampaign
    rules: list[CampaignRule] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)

    @property
    def clicks(self) -> int:
        return sum(m.clicks for m in self.members)

    @property
    def unique(self) -> int:
        # Visitors are known per sender campaign: the canonical campaign's are their sum.
        return sum(m.unique for m in self.members)


@dataclass
class Overview:
    rules: list[tuple[CampaignRule, int]]  # every rule in order, with the campaigns it takes
    unified: list[Unified]
    own: list[Member]  # campaigns on their own (automatic), busiest first, at most OWN_LISTED
    own_total: int
    suggestions: list[Suggestion]


def overview(f: ClickFilter) -> Overview:
    """Everything the page shows, in a fixed number of queries: rules, marketers' canonical
    campaigns, every sender campaign, and one rollup read of their clicks in the period."""
    ordered_rules = list(
        CampaignRule.objects.select_related("canonical").order_by("priority", "id")
    )
    unified = {
        c.pk: Unified(c)
        for c in CanonicalCampaign.objects.filter(is_automatic=False).order_by(Lower("name"), "pk")
    }
    compiled = tuple(compile_rule(rule) for rule in ordered_rules)  # already read
    found = targets(Campaign.objects.all(), any(r.field == Field.URL for r in compiled))
    counted = rollup_reads.counts(f, [f.start, f.end], group=SENDER_CAMPAIGN)
    clicks = {row.value: (row.clicks, row.uniques) for row in counted}
    taken = Counter(rule.id for rule in (first_match(compiled, t) for t in found) if rule)
    own: list[Member] = []
    for target in found:
        member = Member(target, *clicks.get(target.id, (0, 0)))
        if target.canonical_id in unified:
            unified[target.canonical_id].members.append(member)
        else:
            own.append(member)
    for rule in ordered_rules:
        if rule.canonical_id in unified:
            unified[rule.canonical_id].rules.append(rule)
    for item in unified.values():
        item.members.sort(key=lambda m: (-m.clicks, m.target.label.casefold()))
    own.sort(key=lambda m: (-m.clicks, m.target.label.casefold(), m.target.id))
    return Overview(
        rules=[(rule, taken[rule.pk]) for rule in ordered_rules],
        unified=list(unified.values()),
        own=own[:OWN_LISTED],
        own_total=len(own),
        suggestions=suggestions(found),
    )
