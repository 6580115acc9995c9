"""Console page: the workspace's files (list with usage, upload, download, delete).

Any member lists, uploads and downloads (an inference key can do as much on
/v1/files); owners and admins delete. Uploads go through
``files.services.file_upload``: the same limit, sniffing and purpose rules as
``POST /v1/files``. Downloads are a redirect to a signed link.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET, require_POST

from console.permissions import console_of, is_htmx, member_required
from files import selectors, services, sniff
from files.errors import FilesError
from files.models import File, FilePurpose

PAGE_SIZE = 50
FORM_OVERHEAD = 64 * 1024  # boundaries, part headers and the small fields around the file
EXPIRY_CHOICES = [
    ("", "Never"),
    ("3600", "After 1 hour"),
    ("86400", "After 1 day"),
    ("604800", "After 7 days"),
    ("2592000", "After 30 days"),
]


class UploadForm(forms.Form):
    file = forms.FileField(label="File", allow_empty_file=True)
    purpose = forms.ChoiceField(
        label="Purpose", choices=[(p, p) for p in FilePurpose.values], initial=FilePurpose.USER_DATA
    )
    expires = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, required=False)


def _file(request: HttpRequest, file_id: str) -> File:
    """The current workspace's live file; another workspace's is a 404."""
    try:
        return selectors.file_get(workspace_id=console_of(request).workspace.pk, file_id=file_id)
    except FilesError:
        raise Http404("No such file.") from None


def _page(request: HttpRequest, form: UploadForm, status: int = 200, error: str = "") -> HttpResponse:
    workspace_id = console_of(request).workspace.pk
    purpose = request.GET.get("purpose", "")
    if purpose not in FilePurpose.values:
        purpose = ""
    after = request.GET.get("after", "")[:40] or None
    page = selectors.file_list(
        workspace_id=workspace_id, purpose=purpose or None, limit=PAGE_SIZE, after=after
    )
    usage = selectors.file_usage(workspace_id=workspace_id, files=page.files)
    rows = [
        (
            f,
            sniff.SHORT_NAMES.get(f.content_type, f.content_type),
            usage.get(f.public_id, selectors.FileUsage()),
        )
        for f in page.files
    ]
    context = {
        "rows": rows,
        "form": form,
        "purpose": purpose,
        "purposes": FilePurpose.choices,
        "next_after": page.files[-1].public_id if page.has_more else None,
        "after": after,
        "max_bytes": settings.FILES_MAX_BYTES,
        "upload_error": error,
    }
    template = (
        "console/_files_table.html" if is_htmx(request) and request.method == "GET" else "console/files.html"
    )
    return render(request, template, context, status=status)


@member_required
def files_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, UploadForm())
    limit = settings.FILES_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        # Refused before Django reads (and spools) the body.
        error = f"The file exceeds the limit of {filesizeformat(limit)}."
        return _page(request, UploadForm(), status=413, error=error)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        uploaded = form.cleaned_data["file"]
        expires = form.cleaned_data["expires"]
        try:
            file = services.file_upload(
                workspace_id=console_of(request).workspace.pk,
                purpose=form.cleaned_data["purpose"],
                filename=uploaded.name,
                chunks=uploaded.chunks(),
                expires_seconds=int(expires) if expires else None,
            )
        except FilesError as err:
            form.add_error("file" if err.param == "file" else None, err.message)
        else:
            messages.success(request, f"Uploaded {file.filename} as {file.public_id}.")
            return redirect("console:files")
    return _page(request, form, status=400)


@member_required
@require_GET
def file_download(request: HttpRequest, file_id: str) -> HttpResponse:
    file = _file(request, file_id)
    base = settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")
    signed = services.file_signed_url(file=file, base_url=base)
    return HttpResponseRedirect(signed.url)


@member_required
@require_POST
def file_delete(request: HttpRequest, file_id: str) -> HttpResponse:
    if not console_of(request).is_manager:
        raise PermissionDenied("Only the workspace's owners and admins can delete files.")
    file = _file(request, file_id)
    services.file_delete(file=file)
    messages.success(request, f"Deleted {file.filename} ({file.public_id}).")
    return redirect("console:files")
