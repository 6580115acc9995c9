from django.contrib import admin
from django.urls import include, path

from config.health import healthz, readyz
from console.views import landing
from gateway import urls as gateway_urls

urlpatterns = [
    path("", landing, name="landing"),
    path("healthz", healthz),
    path("readyz", readyz),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("console/", include("console.urls")),
    path("admin/", admin.site.urls),
    path("api/manage/", include("accounts.api_urls")),
    path("billing/", include("billing.urls")),
    # One API, three mounts: /v1 (OpenAI's base URL), /v1/openai (another
    # gateway's documented base URL) and /api/v1.
    path("v1/openai/", include(gateway_urls)),
    path("v1/", include(gateway_urls)),
    path("api/v1/", include(gateway_urls)),
]
