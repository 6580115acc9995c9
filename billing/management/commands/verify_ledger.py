from django.core.management.base import BaseCommand, CommandError

from billing.selectors import ledger_mismatches


class Command(BaseCommand):
    help = (
        "Check that every workspace's cached balance equals the sum of its ledger; exit 1 on any difference."
    )

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for m in mismatches:
            self.stderr.write(
                f"workspace {m.workspace_id}: balance {m.balance_units} units, "
                f"ledger sums to {m.ledger_units} units (difference {m.balance_units - m.ledger_units:+d})"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} workspace(s) disagree with their ledger.")
        self.stdout.write("Every balance equals the sum of its ledger.")
