import pytest
from django.core.management import CommandError, call_command

from billing.models import CreditAccount, Plan
from billing.services.plans import plans_ensure_defaults


def test_set_plan_moves_the_workspace(workspace):
    plans_ensure_defaults()
    call_command("set_plan", workspace.slug, "pro")
    account = CreditAccount.objects.get(workspace_id=workspace.pk)
    assert account.plan == Plan.objects.get(slug="pro")


def test_set_plan_refuses_unknown_names(workspace):
    with pytest.raises(CommandError):
        call_command("set_plan", workspace.slug, "platinum")
    with pytest.raises(CommandError):
        call_command("set_plan", "no-such-workspace", "pro")
