"""Console forms for routing_rules: provider keys (``ProviderKeyForm``), and the routing-rule editor: one small form per condition and one for
the action, turned into the rule JSON of docs/routing.md. Which fields a type
takes comes from ``routing_rules.schema`` (the OpenAPI shapes); the router's
compiler stays the one validator (``services.routing_rule_validate``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME

from routing_rules.models import MatchMode, RoutingRule
from routing_rules.router.rules import ActionType, ConditionType
from routing_rules.schema import ACTION_FIELDS, CONDITION_FIELDS

CONDITION_LABELS = {
    ConditionType.TEXT_CONTAINS: "Prompt text contains",
    ConditionType.TEXT_REGEX: "Prompt text matches regex (RE2)",
    ConditionType.METADATA_EQUALS: "Metadata key equals",
    ConditionType.MODE_EQUALS: "Router mode is",
    ConditionType.MODEL_EQUALS: "Model is",
    ConditionType.MODEL_REGEX: "Model matches regex (RE2)",
    ConditionType.API_KEY_IN: "API key is one of",
    ConditionType.INPUT_TOKENS_ABOVE: "Input tokens above",
    ConditionType.HAS_TOOLS: "Request has tools",
    ConditionType.HAS_IMAGES: "Request has images",
    ConditionType.HAS_FILES: "Request has files",
}
ACTION_LABELS = {
    ActionType.ROUTE: "Route to a model",
    ActionType.FALLBACKS: "Set the fallback chain",
    ActionType.SPLIT: "Split traffic by weight",
    ActionType.BLOCK: "Block the request",
}


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    match = forms.ChoiceField(
        choices=MatchMode.choices, initial=MatchMode.ALL, label="Apply when", widget=forms.RadioSelect
    )
    enabled = forms.BooleanField(required=False, initial=True)


class ConditionForm(forms.Form):
    # The initial type is what an untouched extra row posts, so that row counts as unchanged (skipped).
    type = forms.ChoiceField(
        choices=[(str(t), label) for t, label in CONDITION_LABELS.items()],
        initial=str(ConditionType.TEXT_CONTAINS),
    )
    key = forms.CharField(required=False, max_length=64, label="Metadata key")
    value = forms.CharField(required=False, max_length=2000, label="Value")
    pattern = forms.CharField(required=False, max_length=2000, label="Pattern")
    values = forms.CharField(
        required=False, label="Key prefixes", help_text="Comma-separated, e.g. jk_ab12, jk_cd34"
    )
    case_sensitive = forms.BooleanField(required=False, label="Case-sensitive")
    negate = forms.BooleanField(required=False, label="Negate (holds when the test fails)")

    def to_json(self) -> dict[str, Any]:
        d = self.cleaned_data
        kind = ConditionType(d["type"])
        properties, _required = CONDITION_FIELDS[kind]
        out: dict[str, Any] = {"type": str(kind)}
        if "key" in properties:
            out["key"] = d["key"]
        if "value" in properties:
            if kind is ConditionType.INPUT_TOKENS_ABOVE:
                try:
                    out["value"] = int(d["value"])
                except ValueError:
                    raise forms.ValidationError({"value": "A whole number of tokens."}) from None
            else:
                out["value"] = d["value"]
        if "pattern" in properties:
            out["pattern"] = d["pattern"]
        if "values" in properties:
            out["values"] = _list(d["values"])
        if "case_sensitive" in properties:
            out["case_sensitive"] = d["case_sensitive"]
        if d["negate"]:
            out["negate"] = True
        return out

    @classmethod
    def initial_from(cls, spec: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {
            k: spec.get(k) for k in ("type", "key", "pattern", "case_sensitive", "negate") if k in spec
        }
        if "case_sensitive" not in spec:  # the router's default: regexes are case-sensitive, substrings not
            initial["case_sensitive"] = spec.get("type") in (
                ConditionType.TEXT_REGEX,
                ConditionType.MODEL_REGEX,
            )
        if "value" in spec:
            initial["value"] = str(spec["value"])
        if "values" in spec:
            initial["values"] = ", ".join(spec["values"])
        return initial


class BaseConditionFormSet(forms.BaseFormSet):
    def to_json(self) -> list[dict[str, Any]]:
        return [
            form.to_json()
            for form in self.forms
            if form.has_changed()
            and not (self.can_delete and form.cleaned_data.get(DELETION_FIELD_NAME, False))
        ]


ConditionFormSet = forms.formset_factory(
    ConditionForm, formset=BaseConditionFormSet, extra=1, can_delete=True, max_num=20
)


class ActionForm(forms.Form):
    type = forms.ChoiceField(choices=[(str(t), label) for t, label in ACTION_LABELS.items()], label="Action")
    model = forms.CharField(
        required=False, max_length=200, help_text="A model, provider:model or auto:<mode>."
    )
    fallbacks = forms.CharField(
        required=False, label="Fallbacks", help_text="Comma-separated models, tried in order."
    )
    targets = forms.CharField(
        required=False,
        label="Split targets",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: model, weight (e.g. gpt-4o-mini, 80).",
    )
    message = forms.CharField(required=False, max_length=500, label="Block message")

    def to_json(self) -> dict[str, Any]:
        d = self.cleaned_data
        kind = ActionType(d["type"])
        properties, _required = ACTION_FIELDS[kind]
        out: dict[str, Any] = {"type": str(kind)}
        if kind is ActionType.ROUTE:
            out["model"] = d["model"]
            if d["fallbacks"]:
                out["fallbacks"] = _list(d["fallbacks"])
        elif kind is ActionType.FALLBACKS:
            out["models"] = _list(d["fallbacks"])
        elif kind is ActionType.SPLIT:
            out["targets"] = [self._target(line) for line in d["targets"].splitlines() if line.strip()]
        elif d["message"]:
            out["message"] = d["message"]
        assert set(out) <= {"type", *properties}
        return out

    @staticmethod
    def _target(line: str) -> dict[str, Any]:
        model, _, weight = line.rpartition(",")
        try:
            return {"model": model.strip(), "weight": int(weight)}
        except ValueError:
            raise forms.ValidationError({"targets": f"“{line.strip()}”: write model, weight."}) from None

    @classmethod
    def initial_from(cls, spec: dict[str, Any]) -> dict[str, Any]:
        kind = spec.get("type")
        initial: dict[str, Any] = {
            "type": kind,
            "model": spec.get("model", ""),
            "message": spec.get("message", ""),
        }
        chain = spec.get("fallbacks") or spec.get("models") or []
        initial["fallbacks"] = ", ".join(chain)
        initial["targets"] = "\n".join(f"{t['model']}, {t['weight']}" for t in spec.get("targets", []))
        return initial


def editor_initial(rule: RoutingRule) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    rule_initial = {
        "name": rule.name,
        "description": rule.description,
        "match": rule.match,
        "enabled": rule.enabled,
    }
    conditions = [ConditionForm.initial_from(c) for c in rule.conditions]
    return rule_initial, conditions, ActionForm.initial_from(rule.action)


class PreviewForm(forms.Form):
    model = forms.CharField(max_length=200, initial="gpt-4o-mini", help_text="As the SDK would send it.")
    system = forms.CharField(required=False, label="System message", widget=forms.Textarea(attrs={"rows": 2}))
    message = forms.CharField(
        label="User message", widget=forms.Textarea(attrs={"rows": 3}), initial="Hello!"
    )
    metadata = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One key=value per line.",
    )
    mode = forms.ChoiceField(
        required=False,
        label="Router mode",
        choices=[
            ("", "None"),
            ("fast", "fast"),
            ("balance", "balance"),
            ("cost", "cost"),
            ("quality", "quality"),
        ],
    )
    stream = forms.BooleanField(required=False)
    api_key_prefix = forms.CharField(required=False, max_length=32, label="As API key (prefix)")

    def clean_metadata(self) -> dict[str, str]:
        out = {}
        for line in (self.cleaned_data.get("metadata") or "").splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(f"“{line.strip()}”: write key=value.")
            out[key.strip()] = value.strip()
        return out

    def request_body(self) -> dict[str, Any]:
        d = self.cleaned_data
        messages = ([{"role": "system", "content": d["system"]}] if d["system"] else []) + [
            {"role": "user", "content": d["message"]}
        ]
        body: dict[str, Any] = {"model": d["model"], "messages": messages}
        if d["metadata"]:
            body["metadata"] = d["metadata"]
        if d["mode"]:
            body["router_mode"] = d["mode"]
        if d["stream"]:
            body["stream"] = True
        return body


class ProviderKeyForm(forms.Form):
    provider = forms.ChoiceField()
    label = forms.CharField(max_length=200, required=False, help_text="Optional, e.g. “org billing”.")
    api_key = forms.CharField(
        label="API key",
        max_length=4096,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Stored encrypted; afterwards only its first and last characters are shown.",
    )

    def __init__(self, *args, providers: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        provider = self.fields["provider"]
        assert isinstance(provider, forms.ChoiceField)
        provider.choices = providers
