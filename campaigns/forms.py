"""Forms of the marketers' screens: they read and shape input; the services apply the rules.

Service errors come back as `ValidationError`s keyed by the service's names ("channels",
"variants[1].sms.body", "send_at"...): `add_service_errors` puts each on the field it is about.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns import services
from campaigns.models import ChannelMode, ScheduleKind, Segment
from campaigns.models.campaign import WinnerMetric
from campaigns.segments import SegmentRuleError, validate_rules
from customers.models import ContactChannel
from inventory.models import Product

VARIANTS = ("A", "B")
CHANNELS = tuple(ContactChannel.values)
# The channels with a subject (e-mail) or a title (push); an SMS is its body only.
WITH_SUBJECT = {"email": _("Subject"), "push": _("Title")}
RULES_EXAMPLE = {
    "all": [
        {"field": "consent", "op": "granted", "value": "email"},
        {"field": "orders_count", "op": "gte", "value": 1},
    ]
}


def parse_rules(raw: str) -> object:
    """The rules typed in the editor, parsed and validated.

    Raises:
        ValidationError: not JSON, or a rule the compiler refuses (its message names the rule).
    """
    try:
        rules = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            _("The rules are not valid JSON: %(error)s"), code="json", params={"error": exc}
        ) from None
    try:
        validate_rules(rules)
    except SegmentRuleError as exc:
        raise ValidationError(exc.messages[0], code="invalid_rule") from None
    return rules


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    rules = forms.CharField(
        label=_("Rules (JSON)"),
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"}),
        help_text=_(
            'A group {"all": [...]}, {"any": [...]} or {"not": ...} of conditions '
            '{"field": ..., "op": ..., "value": ...}. The fields are listed below.'
        ),
    )

    def __init__(self, *args, segment: Segment | None = None, **kwargs):
        self.segment = segment
        if segment is not None:
            shown = {
                "name": segment.name,
                "description": segment.description,
                "rules": json.dumps(segment.rules, indent=2, ensure_ascii=False),
            }
        else:
            shown = {"rules": json.dumps(RULES_EXAMPLE, indent=2)}
        kwargs["initial"] = {**shown, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        if segment is not None:
            # Campaigns and people refer to a segment by its name: it is set once.
            self.fields["name"].disabled = True

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Segment.objects.filter(name=name)
        if self.segment is not None:
            others = others.exclude(pk=self.segment.pk)
        if others.exists():
            raise ValidationError(_("A segment already has this name."), code="unique")
        return name

    def clean_rules(self) -> object:
        return parse_rules(self.cleaned_data["rules"])


def content_field(variant: str, channel: str, part: str) -> str:
    return f"{variant.lower()}_{channel}_{part}"


class ProductReferenceField(forms.CharField):
    """A product typed by its reference; cleans to the Product (or None when left empty)."""

    def clean(self, value) -> Product | None:
        reference = (super().clean(value) or "").strip()
        if not reference:
            return None
        product = Product.objects.filter(reference__iexact=reference).first()
        if product is None:
            raise ValidationError(
                _("No product has the reference “%(reference)s”."),
                code="unknown",
                params={"reference": reference},
            )
        return product


class CampaignForm(forms.Form):
    """Everything `campaign_create` takes, for up to two variants (A/B) of every channel."""

    name = forms.CharField(label=_("Name"), max_length=120)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.order_by("name"))
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=ContactChannel.choices,
        required=False,  # the service says "choose at least one channel"
        widget=forms.CheckboxSelectMultiple,
    )
    channel_mode = forms.ChoiceField(
        label=_("Channel per customer"), choices=ChannelMode.choices, initial=ChannelMode.PREFERRED
    )
    promoted_product = ProductReferenceField(
        label=_("Promoted product (reference)"), required=False, max_length=40
    )
    suppress_buyers_days = forms.IntegerField(
        label=_("Leave out buyers of the promoted product from the last N days"),
        min_value=0,
        initial=30,
    )
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), required=False, max_digits=5, decimal_places=2
    )
    holdout_percent = forms.IntegerField(
        label=_("Holdout (%)"),
        initial=0,
        help_text=_("A share of the audience that receives nothing, to measure the lift."),
    )
    split_a = forms.IntegerField(
        label=_("Share of variant A (%)"),
        initial=100,
        min_value=0,
        max_value=100,
        help_text=_("Variant B, when it has content, receives the rest."),
    )
    winner_metric = forms.ChoiceField(
        label=_("Automatic winner by"),
        choices=[("", _("No automatic winner")), *WinnerMetric.choices],
        required=False,
    )
    winner_after = forms.IntegerField(
        label=_("Choose the winner after (hours)"), required=False, min_value=1
    )
    test_percent = forms.IntegerField(
        label=_("Test share (%)"),
        initial=100,
        help_text=_(
            "With an automatic winner: the share of the audience that tests the variants; "
            "the rest receives the winner."
        ),
    )
    schedule_kind = forms.ChoiceField(
        label=_("When"),
        choices=[
            (ScheduleKind.NOW, _("Now: save, then send it from its page")),
            (ScheduleKind.AT, _("At a given time")),
            (ScheduleKind.RECURRING, _("Recurring (crontab)")),
        ],
        initial=ScheduleKind.NOW,
        widget=forms.RadioSelect,
    )
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    recurrence = forms.CharField(
        label=_("Recurrence (crontab)"),
        required=False,
        max_length=100,
        help_text=_("minute hour day-of-month month day-of-week, e.g. “0 10 * * 1”."),
    )
    preview_customer = forms.CharField(
        label=_("Preview for (name, e-mail, phone or card)"),
        required=False,
        max_length=100,
        # Typing a search drops a customer picked from the segment's list.
        widget=forms.TextInput(
            attrs={"hx-on:input": "document.getElementById('id_preview_pick').value = ''"}
        ),
        help_text=_("Left empty: the first customer of the segment."),
    )
    # A customer picked among the segment's, in the preview: kept for the test send.
    preview_pick = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for variant in VARIANTS:
            for channel in CHANNELS:
                label = ContactChannel(channel).label
                if channel in WITH_SUBJECT:
                    self.fields[content_field(variant, channel, "subject")] = forms.CharField(
                        label=_("%(variant)s · %(channel)s · %(part)s")
                        % {"variant": variant, "channel": label, "part": WITH_SUBJECT[channel]},
                        required=False,
                        max_length=200,
                        widget=forms.TextInput(attrs={"size": 70}),
                    )
                self.fields[content_field(variant, channel, "body")] = forms.CharField(
                    label=_("%(variant)s · %(channel)s · %(part)s")
                    % {"variant": variant, "channel": label, "part": _("Text")},
                    required=False,
                    widget=forms.Textarea(
                        attrs={"rows": 5 if channel == "email" else 2, "cols": 70}
                    ),
                )

    def content_fields(self, variant: str, channel: str) -> list[forms.BoundField]:
        parts = ("subject", "body") if channel in WITH_SUBJECT else ("body",)
        return [self[content_field(variant, channel, part)] for part in parts]

    def variant_rows(self) -> list[tuple[str, list[tuple[str, list[forms.BoundField]]]]]:
        """For the template: per variant, per channel, its fields."""
        return [
            (
                variant,
                [
                    (ContactChannel(channel).label, self.content_fields(variant, channel))
                    for channel in CHANNELS
                ],
            )
            for variant in VARIANTS
        ]

    # --- to the services' types -------------------------------------------------------------

    def chosen_channels(self) -> tuple[str, ...]:
        return tuple(self.cleaned_data.get("channels") or ())

    def contents(self, variant: str = "A") -> tuple[services.ChannelContent, ...]:
        data = self.cleaned_data
        return tuple(
            services.ChannelContent(
                channel=channel,
                subject=data.get(content_field(variant, channel, "subject"), "") or "",
                body=data.get(content_field(variant, channel, "body"), "") or "",
            )
            for channel in self.chosen_channels()
        )

    def _has_variant_b(self) -> bool:
        return any(content.body.strip() for content in self.contents("B"))

    def variants(self) -> tuple[services.VariantSpec, ...]:
        split_a = self.cleaned_data.get("split_a")
        split_a = 100 if split_a is None else split_a
        variants = [services.VariantSpec(name="A", split_percent=split_a, contents=self.contents())]
        if self._has_variant_b():
            variants.append(
                services.VariantSpec(
                    name="B", split_percent=100 - split_a, contents=self.contents("B")
                )
            )
        return tuple(variants)

    def spec(self) -> services.CampaignSpec:
        data = self.cleaned_data
        return services.CampaignSpec(
            name=data["name"],
            segment=data["segment"],
            channels=self.chosen_channels(),
            variants=self.variants(),
            channel_mode=data["channel_mode"],
            promoted_product=data.get("promoted_product"),
            suppress_buyers_days=data["suppress_buyers_days"],
            discount_percent=data.get("discount_percent"),
            holdout_percent=data["holdout_percent"],
            winner_metric=data.get("winner_metric") or "",
            winner_after=data.get("winner_after"),
            test_percent=data["test_percent"],
            schedule=services.Schedule(
                kind=data["schedule_kind"],
                send_at=data.get("send_at") if data["schedule_kind"] == ScheduleKind.AT else None,
                recurrence=(data.get("recurrence") or "").strip()
                if data["schedule_kind"] == ScheduleKind.RECURRING
                else "",
            ),
        )

    def preview_inputs(self) -> dict:
        """What the preview and the test send take besides the customer."""
        discount: Decimal | None = self.cleaned_data.get("discount_percent")
        return {
            "contents": self.contents(),
            "promoted_product": self.cleaned_data.get("promoted_product"),
            "discount_percent": discount,
        }

    def add_service_errors(self, error: ValidationError, *, variant: str | None = None) -> None:
        """Put each of a service's errors on the field it names (else on the whole form)."""
        for key, messages in error.message_dict.items():
            field = self._field_for(key, variant)
            for message in messages:
                self.add_error(field, message)

    def _field_for(self, key: str, variant: str | None) -> str | None:
        # "variants[1].sms.body", "variants[0].email" (campaign_create) or "sms.body" (preview)
        if key.startswith("variants["):
            index, _sep, rest = key.partition("].")
            variant = VARIANTS[int(index.removeprefix("variants["))] if rest else None
            key = rest
        channel, _sep, part = key.partition(".")
        if variant and channel in CHANNELS:
            name = content_field(variant, channel, part or "body")
            return name if name in self.fields else None
        if key == "variants":
            return "split_a"
        return key if key in self.fields else None


class ScheduleForm(forms.Form):
    """Schedule a saved campaign once or recurring (campaign_schedule)."""

    schedule_kind = forms.ChoiceField(
        label=_("When"),
        choices=[
            (ScheduleKind.AT, _("At a given time")),
            (ScheduleKind.RECURRING, _("Recurring (crontab)")),
        ],
        initial=ScheduleKind.AT,
        widget=forms.RadioSelect,
    )
    send_at = CampaignForm.base_fields["send_at"]
    recurrence = CampaignForm.base_fields["recurrence"]

    def schedule(self) -> services.Schedule:
        data = self.cleaned_data
        if data["schedule_kind"] == ScheduleKind.AT:
            return services.Schedule(kind=ScheduleKind.AT, send_at=data.get("send_at"))
        return services.Schedule(
            kind=ScheduleKind.RECURRING, recurrence=(data.get("recurrence") or "").strip()
        )

    def add_service_errors(self, error: ValidationError) -> None:
        for key, messages in error.message_dict.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)
