"""The chat app's pages and its small JSON API (session + CSRF).

Pages and reads are sync views behind the console's gate
(``console.permissions``); the reply is an async view so the answer streams
to the browser as it arrives."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.services import chat_key_for_member
from billing.selectors import workspace_balance
from chat import call
from chat.attachments import AttachmentError, attachment_store
from chat.models import Conversation
from chat.selectors import (
    attachment_names,
    conversation_get,
    conversation_list,
    conversation_messages,
    message_usage,
)
from chat.services import ChatError, conversation_create, conversation_delete, conversation_rename, turn_begin
from console.permissions import ConsoleContext, console_of, member_required, resolve_console, user_of
from console.templatetags.console import usd
from gateway.catalog.selectors import catalog_search

AUTO_MODES = (
    ("auto:balance", "Auto: balanced"),
    ("auto:quality", "Auto: best quality"),
    ("auto:cost", "Auto: lowest cost"),
    ("auto:latency", "Auto: fastest"),
)


def _models(workspace_id: int) -> list[dict[str, Any]]:
    """What the model picker offers: the auto modes, then every chat model the
    workspace can reach, with what it accepts as attachments."""
    out: list[dict[str, Any]] = [
        {"id": mode, "label": label, "vision": True, "files": True} for mode, label in AUTO_MODES
    ]
    for entry in catalog_search(workspace_id=workspace_id):
        if not entry.available or "embeddings" in entry.capabilities:
            continue
        out.append(
            {
                "id": entry.model_id,
                "label": entry.display_name,
                "vision": "vision" in entry.capabilities,
                "files": "files" in entry.capabilities,
            }
        )
    return out


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    ctx = console_of(request)
    try:
        return conversation_get(
            workspace_id=ctx.workspace.pk, user_id=user_of(request).pk, conversation_id=conversation_id
        )
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.") from None


def _conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "model": conversation.model,
        "updated_at": conversation.updated_at.isoformat(),
        "url": reverse("chat:conversation", args=[conversation.pk]),
    }


def _messages_json(conversation: Conversation) -> list[dict[str, Any]]:
    messages = conversation_messages(conversation=conversation)
    names = attachment_names(
        workspace_id=conversation.workspace_id, file_ids=[fid for m in messages for fid in m.attachments]
    )
    usage = message_usage(
        workspace_id=conversation.workspace_id, request_ids=[m.request_id for m in messages]
    )
    out = []
    for m in messages:
        row = usage.get(m.request_id)
        out.append(
            {
                "id": m.pk,
                "role": m.role,
                "content": m.content,
                "attachments": [
                    {"id": fid, "filename": names.get(fid, "attachment")} for fid in m.attachments
                ],
                "model": m.model,
                "status": m.status,
                "error": m.error,
                "request_id": m.request_id,
                "usage": None
                if row is None
                else {
                    "input_tokens": row.input_tokens,
                    "output_tokens": row.output_tokens,
                    "cost": usd(row.charged_units),
                    "charged_units": row.charged_units,
                    "estimated": row.estimated,
                },
            }
        )
    return out


def _balance_json(workspace_id: int) -> dict[str, Any]:
    """The workspace's balance: the sum of its ledger (what charges come out of)."""
    units = workspace_balance(workspace_id=workspace_id).balance_units
    return {"balance_units": units, "display": usd(units)}


@require_GET
@member_required
def chat_app(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    ctx = console_of(request)
    user = user_of(request)
    current = _conversation(request, conversation_id) if conversation_id is not None else None
    state = {
        "conversation": _conversation_json(current) if current else None,
        "messages": _messages_json(current) if current else [],
        "models": _models(ctx.workspace.pk),
        "balance": _balance_json(ctx.workspace.pk),
        "urls": {
            "conversations": reverse("chat:api-conversations"),
            "attachments": reverse("chat:api-attachments"),
            "balance": reverse("chat:api-balance"),
            "home": reverse("chat:app"),
        },
        "topup_url": reverse("console:billing") if ctx.is_manager else "",
    }
    return render(
        request,
        "chat/app.html",
        {
            "ctx": ctx,
            "conversations": conversation_list(workspace_id=ctx.workspace.pk, user_id=user.pk),
            "current": current,
            "state": state,
            "balance_display": state["balance"]["display"],
        },
    )


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest (served here so icon URLs carry static hashes)."""
    data = {
        "name": "Junction Chat",
        "short_name": "Chat",
        "description": "Talk to any model, paid from your Junction workspace's balance.",
        "start_url": reverse("chat:app"),
        "scope": reverse("chat:app"),
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": settings.CHAT_THEME_COLOR,
        "icons": [
            {"src": static("chat/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("chat/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": static("chat/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json")


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ChatError("Expected a JSON object.")
    return body


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": {"message": message}}, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def api_conversations(request: HttpRequest) -> JsonResponse:
    ctx = console_of(request)
    user = user_of(request)
    if request.method == "POST":
        try:
            body = _json_body(request)
        except ChatError as exc:
            return _error(str(exc))
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        conversation = conversation_create(workspace_id=ctx.workspace.pk, user_id=user.pk, model=model[:200])
        return JsonResponse(_conversation_json(conversation), status=201)
    query = request.GET.get("q", "")[:200]
    conversations = conversation_list(workspace_id=ctx.workspace.pk, user_id=user.pk, query=query)
    return JsonResponse({"data": [_conversation_json(c) for c in conversations]})


@require_http_methods(["GET", "POST", "DELETE"])
@member_required
def api_conversation(request: HttpRequest, conversation_id: int) -> JsonResponse:
    conversation = _conversation(request, conversation_id)
    if request.method == "DELETE":
        conversation_delete(conversation=conversation)
        return JsonResponse({"id": conversation_id, "deleted": True})
    if request.method == "POST":
        try:
            body = _json_body(request)
            title = body.get("title")
            if not isinstance(title, str):
                raise ChatError("'title' must be a string.")
            conversation_rename(conversation=conversation, title=title)
        except ChatError as exc:
            return _error(str(exc))
    return JsonResponse(
        {"conversation": _conversation_json(conversation), "messages": _messages_json(conversation)}
    )


@require_POST
@member_required
def api_attachments(request: HttpRequest) -> JsonResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return _error("Attach a file in the 'file' field.")
    try:
        stored = attachment_store(workspace_id=console_of(request).workspace.pk, upload=upload)
    except AttachmentError as exc:
        return _error(str(exc), status=exc.status)
    return JsonResponse(
        {"id": stored.public_id, "filename": stored.filename, "content_type": stored.content_type}, status=201
    )


@require_GET
@member_required
def api_balance(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_balance_json(console_of(request).workspace.pk))


# ------------------------------------------------------------------ the reply


class _Prepared:
    __slots__ = ("answer_id", "body", "error", "key_hash", "status")

    def __init__(self) -> None:
        self.body = b""
        self.key_hash = ""
        self.answer_id = 0
        self.error = ""
        self.status = 400


def _prepare(request: HttpRequest, conversation_id: int) -> _Prepared:
    """Everything before the call, on one thread: who asks, which
    conversation (theirs, in their current workspace), the turn's messages,
    and the request body."""
    out = _Prepared()
    if not request.user.is_authenticated:
        out.error, out.status = "Sign in first.", 401
        return out
    ctx: ConsoleContext | None = resolve_console(request)
    if ctx is None:
        out.error, out.status = "You are not a member of any workspace.", 403
        return out
    try:
        conversation = conversation_get(
            workspace_id=ctx.workspace.pk, user_id=user_of(request).pk, conversation_id=conversation_id
        )
    except Conversation.DoesNotExist:
        out.error, out.status = "No such conversation.", 404
        return out
    try:
        body = _json_body(request)
        mode = body.get("mode", "send")
        model = body.get("model") or conversation.model
        content = body.get("content", "")
        attachments = body.get("attachments", [])
        if not isinstance(mode, str) or not isinstance(model, str) or not isinstance(content, str):
            raise ChatError("'mode', 'model' and 'content' must be strings.")
        if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
            raise ChatError("'attachments' must be a list of file ids.")
        turn = turn_begin(
            conversation=conversation,
            mode=mode,
            model=model[:200],
            content=content,
            attachments=attachments[:10],
        )
    except ChatError as exc:
        out.error = str(exc)
        return out
    out.key_hash = chat_key_for_member(membership=ctx.membership).key_hash
    out.body = call.request_body(model=model, history=turn.history, workspace_id=ctx.workspace.pk)
    out.answer_id = turn.answer.pk
    return out


@require_POST
async def api_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    prepared = await sync_to_async(_prepare)(request, conversation_id)
    if prepared.error:
        return _error(prepared.error, status=prepared.status)
    return await call.answer(
        body=prepared.body,
        key_hash=prepared.key_hash,
        answer_id=prepared.answer_id,
        client_ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
