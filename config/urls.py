from django.contrib import admin
from django.urls import include, path

from config.health import healthz, readyz
from gateway import urls as gateway_urls

urlpatterns = [
    path("healthz", healthz),
    path("readyz", readyz),
    path("admin/", admin.site.urls),
    path("api/manage/", include("accounts.api_urls")),
    path("billing/", include("billing.urls")),
    # One API, three mounts: /v1 (OpenAI's base URL), /v1/openai (another
    # gateway's documented base URL) and /api/v1.
    path("v1/openai/", include(gateway_urls)),
    path("v1/", include(gateway_urls)),
    path("api/v1/", include(gateway_urls)),
]
