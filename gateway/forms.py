"""The Logs page's filter form (the query string names match /api/manage/logs)."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from gateway.selectors import LogFilters, StatusFilter

STATUS_CHOICES = [
    ("", "Any"),
    ("2xx", "Success (2xx)"),
    ("error", "Any error"),
    ("4xx", "Client errors (4xx)"),
    ("5xx", "Server errors (5xx)"),
    ("429", "429 rate limited"),
    ("402", "402 out of credit"),
]
STREAM_CHOICES = [("", "Any"), ("true", "Streamed"), ("false", "Not streamed")]


class LogFilterForm(forms.Form):
    since = forms.DateTimeField(
        required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    key = forms.ChoiceField(required=False, label="API key")
    model = forms.CharField(required=False, max_length=200)
    provider = forms.CharField(required=False, max_length=64)
    status = forms.CharField(
        required=False,
        max_length=8,
        help_text="A code (429), a class (4xx) or “error”.",
        widget=forms.TextInput(attrs={"list": "status-choices", "autocomplete": "off"}),
    )
    error_type = forms.CharField(required=False, max_length=64, label="Error type")
    stream = forms.ChoiceField(required=False, choices=STREAM_CHOICES)
    metadata_key = forms.CharField(required=False, max_length=64, label="Metadata key")
    metadata_value = forms.CharField(required=False, max_length=512, label="Metadata value")
    request_id = forms.CharField(required=False, max_length=40, label="Request ID")

    def __init__(self, *args: Any, key_prefixes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["key"]).choices = [("", "Any"), *key_prefixes]

    def clean_status(self) -> StatusFilter | None:
        text = self.cleaned_data.get("status") or ""
        if not text:
            return None
        try:
            return StatusFilter.parse(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("metadata_value") and not data.get("metadata_key"):
            self.add_error("metadata_key", "Give the key whose value you are looking for.")
        return data

    def filters(self) -> LogFilters:
        d = self.cleaned_data
        stream = {"true": True, "false": False}.get(d.get("stream") or "")
        return LogFilters(
            since=d.get("since"),
            until=d.get("until"),
            api_key_prefix=d.get("key") or None,
            model=d.get("model") or None,
            provider=d.get("provider") or None,
            status=d.get("status"),
            error_type=d.get("error_type") or None,
            stream=stream,
            metadata_key=d.get("metadata_key") or None,
            metadata_value=d.get("metadata_value") or None,
            request_id=(d.get("request_id") or "").strip() or None,
        )
