from django.db import migrations

# 1 credit = $0.01 = 100 units (billing/money.py).
PLANS = [
    dict(slug="free", name="Free", monthly_grant_units=100 * 100, price_cents=0, rpm_limit=60,
         tpm_limit=100_000, max_concurrency=10, is_default=True),
    dict(slug="starter", name="Starter", monthly_grant_units=500 * 100, price_cents=500, rpm_limit=300,
         tpm_limit=1_000_000, max_concurrency=25, is_default=False),
    dict(slug="pro", name="Pro", monthly_grant_units=5_000 * 100, price_cents=5_000, rpm_limit=3_000,
         tpm_limit=10_000_000, max_concurrency=200, is_default=False),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(slug=plan["slug"], defaults=plan)


def unseed(apps, schema_editor):
    apps.get_model("billing", "Plan").objects.filter(slug__in=[p["slug"] for p in PLANS]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
