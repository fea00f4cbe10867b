"""Forms of saved views and what hangs off them: shared links, report schedules, alert rules.

The views set the owner or saved view on the instance before validating, so the models' own
checks (a name unique per owner, a rule's threshold in range) run with everything they need.
"""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics.models import (
    AlertRule,
    ReportSchedule,
    SavedView,
    SharedLink,
    WebhookEndpoint,
)

_TEXT = {"class": "input", "autocomplete": "off"}
_RECIPIENTS = forms.Textarea(
    attrs={"class": "input", "rows": 2, "placeholder": "ana@example.com, team@client.com"}
)


class SavedViewForm(forms.ModelForm):
    class Meta:
        model = SavedView
        fields = ["name", "visibility", "query"]
        labels = {"name": "Name", "visibility": "Who sees it", "query": ""}
        widgets = {
            "name": forms.TextInput(attrs=_TEXT | {"maxlength": 100}),
            "visibility": forms.Select(attrs={"class": "input"}),
            "query": forms.HiddenInput(),
        }

    def clean_name(self) -> str:
        # The constraint names the owner, which is not a field of the form: checked here.
        name = self.cleaned_data["name"].strip()
        mine = SavedView.objects.filter(owner=self.instance.owner_id, name__iexact=name)
        if mine.exclude(pk=self.instance.pk).exists():
            raise ValidationError(f"You already have a view named “{name}”.")
        return name


class SharedLinkForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"class": "input", "autocomplete": "new-password"}),
        help_text="Optional. Visitors type it once; changing it locks out everyone who had it.",
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"class": "input", "type": "date"}),
        label="Expires after",
        help_text="Optional. The link stops working at the end of this day (UTC).",
    )

    class Meta:
        model = SharedLink
        fields = ["label"]
        labels = {"label": "For"}
        widgets = {"label": forms.TextInput(attrs=_TEXT | {"placeholder": "ACME monthly review"})}

    def clean_expires_on(self) -> object:
        day = self.cleaned_data["expires_on"]
        if day and day < timezone.now().date():
            raise ValidationError("That day has passed; give today or a later day.")
        return day

    def save(self, commit: bool = True) -> SharedLink:
        link = super().save(commit=False)
        link.set_password(self.cleaned_data["password"])
        day = self.cleaned_data["expires_on"]
        if day:
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            link.expires_at = end
        if commit:
            link.save()
        return link


class ReportScheduleForm(forms.ModelForm):
    class Meta:
        model = ReportSchedule
        fields = ["frequency", "recipients"]
        labels = {"frequency": "Send", "recipients": "To"}
        widgets = {"frequency": forms.Select(attrs={"class": "input"}), "recipients": _RECIPIENTS}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Every choice is a real one: no "---------" to pick by mistake.
        self.fields["frequency"].choices = ReportSchedule.Frequency.choices


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["name", "kind", "threshold", "endpoint", "recipients"]
        labels = {
            "name": "Name",
            "kind": "When",
            "threshold": "X or N",
            "endpoint": "Endpoint",
            "recipients": "To",
        }
        help_texts = {
            "threshold": "A percentage (drop: 1 to 99, spike: above 100, bots: 1 to 99) or, for "
            "endpoints, hours.",
            "endpoint": "Only for “No delivery from an endpoint”.",
        }
        widgets = {
            "name": forms.TextInput(attrs=_TEXT | {"placeholder": "Spring sale traffic drop"}),
            "kind": forms.Select(attrs={"class": "input"}),
            "threshold": forms.NumberInput(attrs={"class": "input", "min": 1}),
            "endpoint": forms.Select(attrs={"class": "input"}),
            "recipients": _RECIPIENTS,
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = AlertRule.Kind.choices
        self.fields["endpoint"].queryset = WebhookEndpoint.objects.filter(is_active=True)
        self.fields["endpoint"].required = False
