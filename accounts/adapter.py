"""django-allauth's hooks: what sign-up does besides creating the user."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import get_user_model

from accounts.selectors import invitation_by_token
from accounts.services import AccountsError, invitation_accept, workspace_open

# Set by accounts.views.invitation when a visitor opens an invitation link.
SESSION_INVITATION_KEY = "pending_invitation_token"
SESSION_WORKSPACE_KEY = "console_workspace_id"


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
        """Sign-up through an invitation joins that workspace; any other sign-up
        opens the person's own workspace (default plan, its grant)."""
        user = super().save_user(request, user, form, commit=commit)
        if not commit:
            return user
        token = request.session.pop(SESSION_INVITATION_KEY, None) if request is not None else None
        invitation = invitation_by_token(token=token) if token else None
        if invitation is not None:
            try:
                membership = invitation_accept(invitation=invitation, user=user)
            except AccountsError:
                pass  # another address, used or expired: an ordinary sign-up
            else:
                request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
                return user
        workspace_open(owner=user, name=f"{user.email.split('@')[0]}'s workspace")
        return user
