from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Keys' last_used_at comes from the written request logs (accounts/key_use.py).
        from accounts.key_use import KeyUseRecorder
        from gateway.logs import request_logs

        request_logs.on_written(KeyUseRecorder())
