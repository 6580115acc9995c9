"""Console forms for routing_rules: provider keys."""

from __future__ import annotations

from django import forms


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
