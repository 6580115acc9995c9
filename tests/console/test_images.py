"""Console: the Images page (the workspace's generated images, prompts, costs),
and in headless Chromium at desktop and phone widths."""

from __future__ import annotations

import os

import httpx
import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from files.generated import generated_image_store, generated_images_set_cost
from tests.console.browser import chromium, desktop, horizontal_overflow, phone
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.fakes.openai_images import image_bytes

__all__ = ["chromium", "desktop", "phone"]  # fixtures, imported for pytest

SHOTS = os.environ.get("JUNCTION_SCREENSHOTS", "")


def _image(workspace_id: int, index: int, prompt: str = "a lighthouse at dusk", cost: int = 420):
    image = generated_image_store(
        workspace_id=workspace_id,
        data=image_bytes(index),
        prompt=f"{prompt} #{index}",
        model="gpt-image-1",
        request_id=f"req_{index:024x}",
        provider="openai",
        size="1024x1024",
        quality="medium",
    )
    generated_images_set_cost(image_ids=[image.pk], total_units=cost)
    return image


@pytest.mark.django_db
def test_lists_the_workspaces_images_with_prompt_model_and_cost(workspace, member_web):
    _image(workspace.pk, 1)
    other = WorkspaceFactory()
    _image(other.pk, 2, prompt="SENTINEL-other-workspace")
    page = member_web.get("/console/images/").content.decode()
    assert "a lighthouse at dusk #1" in page and "gpt-image-1" in page and "1024x1024" in page
    assert "$0.0420" in page
    assert "SENTINEL-other-workspace" not in page


@pytest.mark.django_db
def test_pages(workspace, member_web):
    for index in range(26):
        _image(workspace.pk, index)
    first = member_web.get("/console/images/").content.decode()
    assert "#25" in first and "#1 " not in first and "?page=2" in first
    second = member_web.get("/console/images/?page=2").content.decode()
    assert "#1" in second and "#0" in second and "?page=3" not in second
    assert "No images" in member_web.get("/console/images/?page=9").content.decode()


@pytest.mark.django_db
def test_empty_and_anonymous(workspace, member_web, anon_web):
    assert "No images yet" in member_web.get("/console/images/").content.decode()
    assert anon_web.get("/console/images/").headers["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)
def test_in_the_browser_at_1280_and_375(desktop, phone, junction, workspace):
    for index in range(7):
        _image(
            workspace.pk,
            index,
            prompt="A watercolour of a lighthouse on a cliff at dusk, gulls, long shadows",
        )
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=Role.MEMBER)
    web = Client()
    web.force_login(user)
    cookie = web.cookies[settings.SESSION_COOKIE_NAME].value
    for page, name in ((desktop, "desktop"), (phone, "phone")):
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": junction.url}]
        )
        page.goto(f"{junction.url}/console/images/")
        cards = page.locator(".image-card")
        assert cards.count() == 7
        first = page.locator(".image-card img").first
        first.wait_for()
        assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", first.element_handle())
        assert horizontal_overflow(page) == 0
        src = first.get_attribute("src")
        assert httpx.get(src).content == image_bytes(6)  # the newest first, the exact bytes
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/images-{name}.png", full_page=True)
