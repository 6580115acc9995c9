from django.apps import AppConfig


class RoutingRulesConfig(AppConfig):
    name = "routing_rules"
    default_auto_field = "django.db.models.BigAutoField"
