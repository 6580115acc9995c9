"""The management API's OpenAPI schema and its browsable docs (/api/manage/docs).

The schema declares both ways in: an admin API key as a Bearer token, and
the console's session cookie. Routes answer with and without a trailing
slash; the schema lists each once, with the slash. The docs page is Swagger
UI served from ``static/vendor/swagger-ui`` (no CDN).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AdminKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.AdminApiKeyAuthentication"
    name = "adminKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An admin-scoped Junction API key: `Authorization: Bearer jk_…`.",
        }


def drop_unslashed_twins(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """drf-spectacular preprocessing hook: a route served both as ``x/`` and
    ``x`` is documented once, as ``x/``."""
    paths = {endpoint[0] for endpoint in endpoints}
    return [e for e in endpoints if e[0].endswith("/") or f"{e[0]}/" not in paths]


def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api/docs.html", {"schema_url": reverse("manage-schema")})


def api_route(route: str, view: Any, name: str) -> list[URLPattern]:
    """``route/`` (named, DRF's usual form) and ``route`` (the same view)."""
    route = route.rstrip("/")
    return [path(f"{route}/", view, name=name), path(route, view)]
