"""Suggested unifications: sender campaigns of different tools that plainly are one campaign.

Two sender campaigns of different senders are alike when their utm_campaign, or else their name,
is the same once normalized (``normalized``). Alike campaigns form one suggestion (joined through
any shared member, so a Dub utm_campaign, a Heyoo campaign with that utm_campaign and a Woodpecker
campaign of the same name are one), as long as some of them are still on their own. Accepting it
(``campaigns.accept``) adds an iexact rule per spelling those need, into the marketer's campaign
some members already belong to, else a new one. Reads only; matching runs in Python over the
campaign table.
"""

import re
from collections import Counter
from dataclasses import dataclass

from analytics.campaigns import Field, Target, targets
from analytics.models import Campaign

# The fields compared, in the order they are tried: a utm_campaign says more than a name.
_FIELDS = (Field.UTM_CAMPAIGN, Field.NAME)


def normalized(value: str) -> str:
    """How suggestions compare values: case-folded, trimmed, and any run of '-', '_' and
    whitespace as one space, so "BF_2026 ", "bf-2026" and "Bf 2026" are one."""
    return re.sub(r"[-_\s]+", " ", value.casefold()).strip()


def _value(target: Target, field_name: str) -> str:
    return target.utm_campaign if field_name == Field.UTM_CAMPAIGN else target.name


@dataclass(frozen=True)
class Suggestion:
    key: str  # stable across requests: "<field>:<normalized value>" of its first group
    name: str  # the campaign to put them into: the marketer's they join, else a new one
    canonical_id: int | None  # the marketer's campaign some of them belong to already
    conditions: tuple[tuple[str, str], ...]  # (field, spelling): an iexact rule each
    campaigns: tuple[Target, ...]  # every alike campaign, those already unified included

    @property
    def reasons(self) -> str:
        fields = dict.fromkeys(Field(field).label for field, _ in self.conditions)
        return " and ".join(f"same {label}" for label in fields)


def suggestions(found: list[Target] | None = None) -> list[Suggestion]:
    """Every suggestion, largest first. ``found``: every campaign (``targets``), if read."""
    if found is None:
        found = targets(Campaign.objects.all(), with_urls=False)
    groups = _groups(found)
    # Join groups that share a campaign: union-find over campaign ids.
    parent: dict[int, int] = {}

    def root(pk: int) -> int:
        while parent.setdefault(pk, pk) != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for _, members in groups:
        for member in members[1:]:
            parent[root(member.id)] = root(members[0].id)
    clusters: dict[int, list[tuple[str, list[Target]]]] = {}
    for key, members in groups:
        clusters.setdefault(root(members[0].id), []).append((key, members))
    made = [s for cluster in clusters.values() if (s := _suggestion(cluster))]
    made.sort(key=lambda s: (-len(s.campaigns), s.key))
    return made


def find_suggestion(key: str) -> Suggestion | None:
    return next((s for s in suggestions() if s.key == key), None)


def _groups(found: list[Target]) -> list[tuple[str, list[Target]]]:
    """("<field>:<value>", campaigns) for each normalized value shared by two senders."""
    groups = []
    for field_name in _FIELDS:
        by_value: dict[str, list[Target]] = {}
        for target in found:
            value = normalized(_value(target, field_name))
            if value:
                by_value.setdefault(value, []).append(target)
        for value, members in by_value.items():
            if len({member.sender for member in members}) > 1:
                groups.append((f"{field_name}:{value}", members))
    return groups


def _suggestion(cluster: list[tuple[str, list[Target]]]) -> Suggestion | None:
    members = {t.id: t for _, group in cluster for t in group}
    alone = {pk for pk, t in members.items() if t.canonical_is_automatic}
    unified = {t.canonical_id for t in members.values() if not t.canonical_is_automatic}
    if not alone or len(unified) > 1:
        return None  # nothing left to unify, or they already span campaigns: the marketer's call
    conditions: dict[tuple[str, str], None] = {}
    covered: set[int] = set()
    for key, group in cluster:  # utm_campaign groups first, as _groups made them
        field_name = key.split(":", 1)[0]
        for target in group:
            if target.id in alone and target.id not in covered:
                spelling = _value(target, field_name)
                if not any(f == field_name and s.casefold() == spelling.casefold()
                           for f, s in conditions):  # fmt: skip
                    conditions[(field_name, spelling)] = None
                # Its spelling's rule takes every campaign so spelled, this one included.
                covered |= {t.id for t in group if _value(t, field_name).casefold() ==
                            spelling.casefold()}  # fmt: skip
    canonical_id = next(iter(unified), None)
    if canonical_id is not None:
        name = next(t.canonical_name for t in members.values() if t.canonical_id == canonical_id)
    else:
        spellings = Counter(
            _value(t, key.split(":", 1)[0]).strip() for key, group in cluster for t in group
        )
        name = max(spellings, key=lambda spelling: spellings[spelling])
    ordered = tuple(sorted(members.values(), key=lambda t: t.id))
    return Suggestion(cluster[0][0], name, canonical_id, tuple(conditions), ordered)
