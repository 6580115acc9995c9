"""Writes for the chat app: conversations, the person's messages and the
answers streamed back. Prices and providers are never decided here: a message
becomes an ordinary /v1 call (``chat.call``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from chat.models import Conversation, Message, MessageRole, MessageStatus

TITLE_CHARS = 60


class ChatError(Exception):
    """A request the chat app refuses (shown to the person as is)."""


def conversation_create(*, workspace_id: int, user_id: int, model: str = "") -> Conversation:
    return Conversation.objects.create(workspace_id=workspace_id, user_id=user_id, model=model)


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    title = " ".join(title.split())[:200]
    if not title:
        raise ChatError("A conversation needs a title.")
    conversation.title = title
    conversation.save(update_fields=["title"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    conversation.delete()


def _title_from(text: str) -> str:
    words = " ".join(text.split())
    if len(words) <= TITLE_CHARS:
        return words or "New chat"
    return words[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True, slots=True)
class Turn:
    """The history a reply is asked for, and the answer row it will fill."""

    history: list[Message]
    answer: Message


@transaction.atomic
def turn_begin(
    *, conversation: Conversation, mode: str, model: str, content: str, attachments: list[str]
) -> Turn:
    """Record the person's side of a turn and open the answer.

    ``send`` adds a message; ``regenerate`` drops the last answer and asks
    again; ``edit`` replaces the last message of the person (and what came
    after it) with ``content``."""
    if not model:
        raise ChatError("Choose a model first.")
    messages = list(conversation.messages.select_for_update().order_by("pk"))
    if mode == "send":
        if not content.strip() and not attachments:
            raise ChatError("Write a message first.")
        messages.append(
            Message.objects.create(
                conversation=conversation, role=MessageRole.USER, content=content, attachments=attachments
            )
        )
    elif mode in ("regenerate", "edit"):
        last_user = next((m for m in reversed(messages) if m.role == MessageRole.USER), None)
        if last_user is None:
            raise ChatError("There is no message to answer again.")
        Message.objects.filter(conversation=conversation, pk__gt=last_user.pk).delete()
        messages = [m for m in messages if m.pk <= last_user.pk]
        if mode == "edit":
            if not content.strip():
                raise ChatError("Write a message first.")
            last_user.content = content
            last_user.save(update_fields=["content"])
    else:
        raise ChatError(f"Unknown mode '{mode}'.")
    if conversation.title == "New chat" and messages:
        conversation.title = _title_from(messages[0].content)
    conversation.model = model
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=["title", "model", "updated_at"])
    answer = Message.objects.create(
        conversation=conversation, role=MessageRole.ASSISTANT, model=model, status=MessageStatus.STREAMING
    )
    return Turn(history=messages, answer=answer)


def answer_finish(*, answer_id: int, content: str, status: str, request_id: str, error: str = "") -> None:
    """Store what the answer came to (also when it was stopped or failed)."""
    Message.objects.filter(pk=answer_id).update(
        content=content, status=status, request_id=request_id, error=error[:2000]
    )
