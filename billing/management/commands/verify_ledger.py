from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.selectors import ledger_mismatches, reserved_mismatches, stale_leases


class Command(BaseCommand):
    help = (
        "Check that every workspace's cached balance equals the sum of its ledger, and that what is "
        "reserved equals the credit leases held against it, and that no lease outlived its process "
        "(not renewed for BILLING_LEASE_EXPIRY_SECONDS); exit 1 on any finding."
    )

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for m in mismatches:
            self.stderr.write(
                f"workspace {m.workspace_id}: balance {m.balance_units} units, "
                f"ledger sums to {m.ledger_units} units (difference {m.balance_units - m.ledger_units:+d})"
            )
        reserved = reserved_mismatches()
        for r in reserved:
            where = f"key {r.api_key_id} {r.period_key}" if r.api_key_id else "credit account"
            self.stderr.write(
                f"workspace {r.workspace_id} {where}: reserved {r.reserved_units} units, "
                f"its leases hold {r.leased_units} units"
            )
        stale = stale_leases(older_than=timedelta(seconds=settings.BILLING_LEASE_EXPIRY_SECONDS))
        for lease in stale:
            self.stderr.write(
                f"workspace {lease.workspace_id}: lease {lease.lease_id} of {lease.holder} holds "
                f"{lease.amount_units} units, not renewed since {lease.renewed_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        if mismatches or reserved or stale:
            raise CommandError(
                f"{len(mismatches)} workspace(s) disagree with their ledger, "
                f"{len(reserved)} reservation total(s) with their leases, "
                f"{len(stale)} stale lease(s) hold credit back."
            )
        self.stdout.write(
            "Every balance equals the sum of its ledger; every reservation its leases; no stale lease."
        )
