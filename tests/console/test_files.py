"""Console: the Files page (list with usage by file, upload, download, delete)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from files import signing
from files.models import File
from files.services import file_create_from_bytes
from files.storage import blob_exists, blob_read
from gateway.models import RequestLog
from tests.files import samples


def _file(workspace, data=b"hello notes\n", name="notes.txt", content_type="text/plain", **kwargs) -> File:
    return file_create_from_bytes(
        workspace_id=workspace.pk,
        purpose=kwargs.pop("purpose", "user_data"),
        filename=name,
        data=data,
        content_type=content_type,
        **kwargs,
    )


def _log(workspace, file_ids, charged=0, cost=0) -> RequestLog:
    return RequestLog.objects.create(
        request_id=f"req_{uuid.uuid4().hex}",
        created_at=timezone.now(),
        workspace=workspace,
        endpoint="responses",
        status_code=200,
        cost_units=cost,
        charged_units=charged,
        extra={"files_used": file_ids},
    )


def _upload(web, data: bytes, name: str, purpose="user_data", expires=""):
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return web.post("/console/files/", {"file": upload, "purpose": purpose, "expires": expires})


def test_lists_files_with_usage_by_file(workspace, other_workspace, member_web):
    pdf = _file(workspace, samples.pdf(), "report.pdf", "application/pdf")
    notes = _file(workspace)
    theirs = _file(other_workspace, name="secret-plans.txt")
    _log(workspace, [pdf.public_id], charged=12_345, cost=10_000)
    _log(workspace, [pdf.public_id, notes.public_id], charged=100)
    _log(workspace, ["file-notours"], charged=999)
    _log(other_workspace, [pdf.public_id], charged=50_000)  # another workspace's log never counts
    RequestLog.objects.create(  # a call without files
        request_id="req_plain",
        created_at=timezone.now(),
        workspace=workspace,
        endpoint="chat",
        status_code=200,
    )

    response = member_web.get("/console/files/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "report.pdf" in page and ">PDF<" in page and notes.public_id in page
    assert "secret-plans.txt" not in page and theirs.public_id not in page
    rows = {file.public_id: use for file, _, use in response.context["rows"]}
    assert (rows[pdf.public_id].calls, rows[pdf.public_id].charged_units) == (2, 12_445)
    assert (rows[notes.public_id].calls, rows[notes.public_id].charged_units) == (1, 100)
    assert "$1.24" in page  # 12_445 units of 1/10,000 USD


def test_purpose_filter_and_htmx_table(workspace, member_web):
    _file(workspace, name="a.txt")
    _file(workspace, samples.PNG, "pic.png", "image/png", purpose="vision")
    page = member_web.get("/console/files/?purpose=vision", HTTP_HX_REQUEST="true")
    text = page.content.decode()
    assert "pic.png" in text and "a.txt" not in text and "<html" not in text


def test_pages_of_fifty(workspace, member_web):
    for i in range(51):
        _file(workspace, name=f"f{i:02}.txt")
    first = member_web.get("/console/files/")
    assert len(first.context["rows"]) == 50 and first.context["next_after"]
    second = member_web.get(f"/console/files/?after={first.context['next_after']}")
    # Ids sort by creation to the millisecond (files made within one ms keep a
    # random order among them): the pages together hold every file, once.
    names = [f.filename for page in (first, second) for f, _, _ in page.context["rows"]]
    assert len(second.context["rows"]) == 1 and sorted(names) == [f"f{i:02}.txt" for i in range(51)]


def test_upload_sniffs_and_stores(workspace, member_web):
    response = _upload(member_web, samples.pdf("console"), "Report.PDF", expires="86400")
    assert response.status_code == 302
    file = File.objects.get(workspace=workspace)
    assert (file.filename, file.content_type, file.purpose, file.bytes) == (
        "Report.PDF",
        "application/pdf",
        "user_data",
        len(samples.pdf("console")),
    )
    assert blob_read(file.storage_key) == samples.pdf("console")
    assert timedelta(hours=23) < file.expires_at - file.created_at <= timedelta(days=1)
    assert "Uploaded Report.PDF" in member_web.get("/console/files/").content.decode()


@pytest.mark.parametrize(
    ("data", "name", "purpose", "message"),
    [
        (samples.ELF, "invoice.pdf", "user_data", "not a supported type"),
        (b"plain words\n", "words.txt", "vision", "cannot be uploaded with purpose"),
        (b"", "empty.txt", "user_data", "The file is empty"),
    ],
)
def test_upload_refuses_what_v1_refuses(workspace, member_web, data, name, purpose, message):
    response = _upload(member_web, data, name, purpose=purpose)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not File.objects.exists()


def test_upload_over_the_limit(workspace, member_web, settings, tmp_path):
    settings.FILES_MAX_BYTES = 1000
    settings.FILES_TMP_DIR = tmp_path
    response = _upload(member_web, b"x" * 1001, "big.txt")
    assert response.status_code == 400 and "exceeds the limit of 1000 bytes" in response.content.decode()
    response = _upload(member_web, b"x" * 200_000, "huge.txt")  # refused from Content-Length, unread
    assert response.status_code == 413 and "exceeds the limit" in response.content.decode()
    assert not File.objects.exists()
    assert list(tmp_path.iterdir()) == []


def test_download_is_a_signed_link(workspace, member_web):
    file = _file(workspace, samples.PNG, "pic.png", "image/png")
    response = member_web.get(f"/console/files/{file.public_id}/download/")
    assert response.status_code == 302
    link = response.headers["Location"]
    assert f"/v1/files/{file.public_id}/blob?expires=" in link and "signature=" in link
    # (the browser test fetches the bytes from the live server; here, the
    # signature is checked, since fetching would log from a thread this
    # non-transactional test's database is not open to)
    query = parse_qs(urlsplit(link).query)
    assert signing.verify(file.public_id, query["expires"][0], query["signature"][0])


def test_managers_delete_members_cannot(workspace, admin_web, member_web):
    file = _file(workspace)
    assert member_web.post(f"/console/files/{file.public_id}/delete/").status_code == 403
    assert "Delete file" not in member_web.get("/console/files/").content.decode()
    assert "Delete file" in admin_web.get("/console/files/").content.decode()
    response = admin_web.post(f"/console/files/{file.public_id}/delete/")
    assert response.status_code == 302
    assert not File.objects.filter(pk=file.pk).exists() and not blob_exists(file.storage_key)


@pytest.mark.parametrize("action", ["download", "delete"])
def test_other_workspace_file_is_404(workspace, other_workspace, owner_web, action):
    theirs = _file(other_workspace)
    method = owner_web.get if action == "download" else owner_web.post
    assert method(f"/console/files/{theirs.public_id}/{action}/").status_code == 404
    assert File.objects.filter(pk=theirs.pk).exists() and blob_exists(theirs.storage_key)


def test_visitors_go_to_login(anon_web):
    for path in ("/console/files/", "/console/files/file-x/download/"):
        assert anon_web.get(path).headers["Location"].startswith("/accounts/login/")


def test_sidebar_has_files_for_members(workspace, login_as):
    page = login_as(workspace, Role.MEMBER).get("/console/").content.decode()
    assert 'href="/console/files/"' in page


def test_list_query_count(workspace, member_web, django_assert_num_queries):
    for i in range(5):
        _file(workspace, name=f"n{i}.txt")
    member_web.get("/console/files/")
    # session, user, memberships, files, usage (log rows), balance
    with django_assert_num_queries(6):
        assert member_web.get("/console/files/").status_code == 200
