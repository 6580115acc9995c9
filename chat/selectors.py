"""Reads for the chat app. Every query is scoped to one person in one
workspace; another person's conversation is a 404 (``Conversation.DoesNotExist``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from chat.models import Conversation, Message
from files.models import File
from gateway.models import RequestLog

LIST_LIMIT = 200


def conversation_list(*, workspace_id: int, user_id: int, query: str = "") -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(workspace_id=workspace_id, user_id=user_id)
    if query:
        conversations = conversations.filter(title__icontains=query)
    return conversations.order_by("-updated_at", "-pk")[:LIST_LIMIT]


def conversation_get(*, workspace_id: int, user_id: int, conversation_id: int) -> Conversation:
    return Conversation.objects.get(pk=conversation_id, workspace_id=workspace_id, user_id=user_id)


@dataclass(frozen=True, slots=True)
class CallUsage:
    """What the request log recorded for one answer."""

    input_tokens: int
    output_tokens: int
    charged_units: int
    estimated: bool
    status_code: int


def message_usage(*, workspace_id: int, request_ids: list[str]) -> dict[str, CallUsage]:
    """Tokens and cost of answers, from their request log rows (one query). An
    answer whose row the log writer has not flushed yet is simply absent."""
    ids = [rid for rid in request_ids if rid]
    if not ids:
        return {}
    rows = RequestLog.objects.filter(workspace_id=workspace_id, request_id__in=ids).values_list(
        "request_id", "input_tokens", "output_tokens", "charged_units", "cost_estimated", "status_code"
    )
    return {
        rid: CallUsage(input_tokens=i, output_tokens=o, charged_units=c, estimated=e, status_code=s)
        for rid, i, o, c, e, s in rows
    }


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    return list(conversation.messages.all())


def attachment_names(*, workspace_id: int, file_ids: list[str]) -> dict[str, str]:
    if not file_ids:
        return {}
    rows = File.objects.filter(workspace_id=workspace_id, public_id__in=file_ids).values_list(
        "public_id", "filename"
    )
    return dict(rows)
