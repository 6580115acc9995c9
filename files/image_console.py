"""The console's Images page: the workspace's generated images, newest first,
with their prompts, models, sizes and costs. Any member may read it; the
thumbnails are signed links (no session needed to load them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.permissions import console_of, member_required
from files.generated import generated_image_url, generated_images_page
from files.models import GeneratedImage

PER_PAGE = 24


@dataclass(frozen=True, slots=True)
class ImageCard:
    image: GeneratedImage
    url: str


@member_required
def images(request: HttpRequest) -> HttpResponse:
    workspace = console_of(request).workspace
    raw_page = request.GET.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1
    page = generated_images_page(workspace_id=workspace.pk, page=number, per_page=PER_PAGE)
    base = settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")
    cards = [ImageCard(image, generated_image_url(image=image, base_url=base).url) for image in page.images]
    return render(request, "console/images.html", {"cards": cards, "page": page})
