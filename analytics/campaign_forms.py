"""Forms of the page that unifies campaigns: a canonical campaign's name, a rule.

Saving is analytics.campaigns' job (``campaigns.save``), which re-maps in the same transaction;
these forms only validate.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from analytics.models import CampaignRule, CanonicalCampaign


class CanonicalCampaignForm(forms.ModelForm):
    """A marketer's campaign: a name no other of theirs has, ignoring case."""

    class Meta:
        model = CanonicalCampaign
        fields = ["name"]
        labels = {"name": "Campaign name"}
        widgets = {"name": forms.TextInput(attrs={"class": "input", "autocomplete": "off"})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        clash = (
            CanonicalCampaign.objects.filter(is_automatic=False, name__iexact=name)
            .exclude(pk=self.instance.pk)
            .first()
        )
        if clash is not None:
            raise ValidationError(
                f"There is already a campaign named “{clash.name}”: names are unique, ignoring "
                "case. Add a rule to it instead, or choose another name."
            )
        return name


class RuleForm(forms.ModelForm):
    """A rule: which sender campaigns go into which canonical campaign, and in what order."""

    class Meta:
        model = CampaignRule
        fields = ["canonical", "field", "match", "pattern", "priority"]
        labels = {
            "canonical": "Put into",
            "field": "When the sender campaign's",
            "match": "",
            "pattern": "Value",
            "priority": "Priority",
        }
        help_texts = {
            "pattern": "Prefix and the “ignoring case” kinds compare without case; a regular "
            "expression (Python syntax) is searched anywhere in the value, case-sensitively "
            "unless it starts with (?i).",
            "priority": "Rules apply lowest first; a sender campaign goes where the first rule "
            "that matches it says.",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Rules put campaigns into marketers' campaigns, never into an automatic one.
        if "canonical" in self.fields:  # not in the admin's inline, whose campaign is given
            self.fields["canonical"].queryset = CanonicalCampaign.objects.filter(
                is_automatic=False
            ).order_by(Lower("name"))
            self.fields["canonical"].empty_label = None
        self.fields["match"].label = "Match"
        # Both always have a value: no empty choice to pick first.
        self.fields["field"].choices = CampaignRule.Field.choices
        self.fields["match"].choices = CampaignRule.Match.choices
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")

    def clean_pattern(self) -> str:
        pattern = self.cleaned_data["pattern"]
        if self.cleaned_data.get("match") == CampaignRule.Match.REGEX:
            try:
                re.compile(pattern)
            except re.error as exc:
                where = f" at position {exc.pos}" if exc.pos is not None else ""
                raise ValidationError(
                    f"This is not a valid regular expression: {exc.msg}{where}."
                ) from None
        return pattern

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        field, match, pattern = (cleaned.get(k) for k in ("field", "match", "pattern"))
        if field and match and pattern is not None:
            same = (
                CampaignRule.objects.filter(field=field, match=match, pattern=pattern)
                .exclude(pk=self.instance.pk)
                .select_related("canonical")
                .first()
            )
            if same is not None:
                # On the field, so Django's own check of the constraint does not repeat it.
                self.add_error(
                    "pattern",
                    f"A rule with this condition already puts sender campaigns into "
                    f"“{same.canonical.name}”: edit that rule instead.",
                )
        return cleaned
