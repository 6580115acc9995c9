"""django-allauth's hooks: what sign-up does besides creating the user."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import get_user_model

from accounts.services import workspace_open


class AccountAdapter(DefaultAccountAdapter):
    def populate_username(self, request, user) -> None:
        # The username is the address (as the management commands make them),
        # unless it is too long or taken; then allauth picks one.
        email = (user.email or "").lower()
        User = get_user_model()
        if email and len(email) <= 150 and not User.objects.filter(username=email).exists():
            user.username = email
            return
        super().populate_username(request, user)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            workspace_open(owner=user, name=f"{user.email.split('@')[0]}'s workspace")
        return user
