from django.apps import AppConfig


class FirewallConfig(AppConfig):
    name = "firewall"
    default_auto_field = "django.db.models.BigAutoField"
