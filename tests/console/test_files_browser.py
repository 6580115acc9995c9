"""The Files page in real headless Chromium: upload through the form → use the
file from the OpenAI SDK → its row counts the call and its cost → download
through the signed link → delete through the confirmation dialog; the page
at 1280 and 375 px wide."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from django.conf import settings as django_settings
from django.test import Client

from files.models import File
from files.services import file_create_from_bytes
from tests.billing.conftest import priced  # noqa: F401 (fixture)
from tests.console.browser import DESKTOP, PHONE, chromium, horizontal_overflow, open_page
from tests.files import samples
from tests.helpers import wait_for_logs

__all__ = ["chromium"]  # fixture, imported for pytest

SHOTS = os.environ.get("JUNCTION_SCREENSHOTS", "")  # a directory to keep screenshots in


def signed_in(chromium, junction, workspace, viewport):
    owner = workspace.memberships.get().user
    web = Client()
    web.force_login(owner)
    context, page = open_page(chromium, viewport)
    cookie = web.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": junction.url}])
    return context, page


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def desktop_page(chromium, junction, workspace):
    context, page = signed_in(chromium, junction, workspace, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(chromium, junction, workspace):
    context, page = signed_in(chromium, junction, workspace, PHONE)
    yield page
    context.close()


def test_upload_use_download_delete(desktop_page, junction, workspace, client, fake_openai, priced, tmp_path):  # noqa: F811
    page = desktop_page
    base = junction.url
    page.goto(f"{base}/console/files/")
    assert page.get_by_text("No files yet").is_visible()
    shot(page, "files-empty-1280")

    # Upload through the form (an executable named .pdf first: refused with the reason).
    page.set_input_files(
        "#id_file", files=[{"name": "a.pdf", "mimeType": "application/pdf", "buffer": samples.ELF}]
    )
    page.get_by_role("button", name="Upload").click()
    assert "not a supported type" in page.locator(".field", has=page.locator("#id_file")).inner_text()
    report = samples.pdf("Quarterly numbers")
    page.set_input_files(
        "#id_file", files=[{"name": "q3 report.pdf", "mimeType": "application/pdf", "buffer": report}]
    )
    page.select_option("#id_expires", "604800")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{base}/console/files/")
    file = File.objects.get(workspace=workspace)
    row = page.locator(f"tr[data-file='{file.public_id}']")
    assert "q3 report.pdf" in row.inner_text() and "PDF" in row.inner_text()
    assert row.locator("td[data-label='Calls']").inner_text() == "0"

    # The SDK uses it by id; the row then counts the call and what it cost.
    client.files.create(file=("notes.txt", io.BytesIO(b"some notes\n")), purpose="user_data")
    answer = client.responses.create(
        model="gpt-4o-mini",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Sum it up"},
                    {"type": "input_file", "file_id": file.public_id},
                ],
            }
        ],
    )
    (log,) = wait_for_logs(request_id=answer.model_extra["x_request_id"])
    assert log.charged_units > 0
    page.reload()
    row = page.locator(f"tr[data-file='{file.public_id}']")
    assert row.locator("td[data-label='Calls']").inner_text() == "1"
    assert row.locator("td[data-label='Cost']").inner_text().startswith("$")
    assert page.locator("tbody tr").count() == 2
    assert horizontal_overflow(page) == 0
    shot(page, "files-list-1280")

    # Download: the link redirects to a signed URL that serves the exact bytes.
    href = row.get_by_role("link", name="q3 report.pdf").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    hop = httpx.get(f"{base}{href}", cookies=cookies, follow_redirects=False)
    assert hop.status_code == 302 and "signature=" in hop.headers["location"]
    assert httpx.get(hop.headers["location"]).content == report

    # The purpose filter swaps the table in place (htmx).
    page.select_option("#files-purpose", "vision")
    page.get_by_text("No files with purpose vision").wait_for()
    page.select_option("#files-purpose", "")
    row.wait_for()

    # Delete through the dialog.
    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    assert "q3 report.pdf" in dialog.inner_text()
    page.screenshot(path=os.path.join(SHOTS, "files-delete-1280.png")) if SHOTS else None
    dialog.get_by_role("button", name="Delete file").click()
    page.get_by_text("Deleted q3 report.pdf").wait_for()
    assert not File.objects.filter(pk=file.pk).exists()


def test_files_page_fits_a_phone(phone_page, junction, workspace):
    for name, data, kind in [
        ("a-rather-long-quarterly-report-name-2026.pdf", samples.pdf(), "application/pdf"),
        ("pic.png", samples.PNG, "image/png"),
    ]:
        file_create_from_bytes(
            workspace_id=workspace.pk, purpose="user_data", filename=name, data=data, content_type=kind
        )
    page = phone_page
    page.goto(f"{junction.url}/console/files/")
    assert page.locator("tbody tr").count() == 2
    assert horizontal_overflow(page) == 0
    assert page.get_by_role("button", name="Upload").is_visible()
    shot(page, "files-375")
