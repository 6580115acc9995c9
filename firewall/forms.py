"""The console's firewall policy editor and test box."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME

from firewall.engine.types import Action, Detector, MatcherKind, Scope
from firewall.models import Policy
from firewall.rules import RuleData

DETECTOR_LABELS = {
    Detector.PAYMENT_CARD: "Payment card number",
    Detector.EMAIL: "Email address",
    Detector.PHONE: "Phone number",
    Detector.IBAN: "IBAN",
    Detector.OPENAI_KEY: "OpenAI API key",
    Detector.ANTHROPIC_KEY: "Anthropic API key",
    Detector.AWS_ACCESS_KEY: "AWS access key",
    Detector.GITHUB_TOKEN: "GitHub token",
    Detector.SLACK_TOKEN: "Slack token",
    Detector.PRIVATE_KEY: "Private key block",
    Detector.JWT: "JSON Web Token",
    Detector.GENERIC_SECRET: "Generic secret",
}
SCOPE_CHOICES = [
    (Scope.PROMPT.value, "Prompt"),
    (Scope.RESPONSE.value, "Response"),
    (Scope.METADATA.value, "Metadata"),
]
# Which inputs each matcher takes (the editor hides the others).
MATCHER_FIELDS = {
    MatcherKind.SUBSTRING.value: ["pattern", "ignore_case"],
    MatcherKind.REGEX.value: ["pattern", "ignore_case"],
    MatcherKind.DETECTOR.value: ["detector"],
}


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    enabled = forms.BooleanField(required=False, initial=True)
    order = forms.IntegerField(initial=0, help_text="Lower runs first.")


class FirewallRuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    matcher = forms.ChoiceField(
        choices=[
            (MatcherKind.DETECTOR.value, "Detector"),
            (MatcherKind.SUBSTRING.value, "Substring"),
            (MatcherKind.REGEX.value, "Regex (RE2)"),
        ],
        initial=MatcherKind.DETECTOR.value,  # what an untouched extra row posts: it stays unchanged
    )
    pattern = forms.CharField(required=False, max_length=1000, strip=False)
    ignore_case = forms.BooleanField(required=False, label="Ignore case")
    detector = forms.ChoiceField(
        required=False, choices=[("", "—"), *[(d.value, label) for d, label in DETECTOR_LABELS.items()]]
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, initial=[Scope.PROMPT.value]
    )
    action = forms.ChoiceField(
        choices=[(Action.MASK.value, "Mask"), (Action.BLOCK.value, "Block"), (Action.WARN.value, "Warn")],
        initial=Action.MASK.value,
    )
    label = forms.CharField(required=False, max_length=32, help_text="Mask placeholder, e.g. CARD.")
    enabled = forms.BooleanField(required=False, initial=True)

    def rule_data(self, order: int) -> RuleData:
        d = self.cleaned_data
        return RuleData(
            name=d["name"],
            matcher=d["matcher"],
            scopes=list(d["scopes"]),
            action=d["action"],
            pattern=d["pattern"],
            ignore_case=d["ignore_case"],
            detector=d["detector"],
            label=d["label"],
            enabled=d["enabled"],
            order=order,
        )


class BaseRuleFormSet(forms.BaseFormSet):
    def rule_data(self) -> list[RuleData]:
        kept = [
            f for f in self.forms if f.has_changed() and not f.cleaned_data.get(DELETION_FIELD_NAME, False)
        ]
        return [form.rule_data(order=i) for i, form in enumerate(kept)]


# formset_factory builds a subclass of ``formset``; its stub returns plain BaseFormSet.
RuleFormSet = cast(
    type[BaseRuleFormSet],
    forms.formset_factory(FirewallRuleForm, formset=BaseRuleFormSet, extra=1, can_delete=True, max_num=50),
)


def editor_initial(policy: Policy) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    policy_initial = {
        "name": policy.name,
        "description": policy.description,
        "enabled": policy.enabled,
        "order": policy.order,
    }
    rules = [
        {
            "name": r.name, "matcher": r.matcher, "pattern": r.pattern, "ignore_case": r.ignore_case,
            "detector": r.detector, "scopes": list(r.scopes), "action": r.action, "label": r.label, "enabled": r.enabled,
        }
        for r in policy.rules.all()
    ]  # fmt: skip
    return policy_initial, rules


class TestForm(forms.Form):
    text = forms.CharField(
        max_length=200_000, strip=False, widget=forms.Textarea(attrs={"rows": 4}), label="Sample text"
    )
    scope = forms.ChoiceField(choices=SCOPE_CHOICES, initial=Scope.PROMPT.value)
    policy = forms.ChoiceField(required=False, label="Policy")

    def __init__(self, *args: Any, policies: list[Policy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["policy"]).choices = [
            ("", "All enabled policies"),
            *[(str(p.pk), p.name) for p in policies],
        ]
