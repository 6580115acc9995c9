from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django's app registry must be ready before models are imported: hence here.
        from accounts.key_use import KeyUseRecorder
        from accounts.principals import principal_by_hash
        from gateway.auth import key_cache
        from gateway.logs import request_logs

        # The gateway's key cache reads keys through accounts (gateway/auth.py).
        key_cache.use_loader(principal_by_hash)
        # Keys' last_used_at comes from the written request logs (accounts/key_use.py).
        request_logs.on_written(KeyUseRecorder())
