"""A chat message is an ordinary /v1 call: the member's chat key, the real
pipeline (the fake upstream receives it), a request log row marked as the
chat app's, and a ledger charge equal to the row's cost; Stop mid-answer
closes the upstream connection and charges what was streamed."""

from __future__ import annotations

import time

import pytest

from accounts.models import KeyKind, Role
from billing.selectors import ledger_mismatches
from chat.models import Message, MessageRole, MessageStatus
from tests.billing.conftest import balance, set_balance, wait_settled
from tests.fakes.openai_upstream import REPLY
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)


def new_conversation(person) -> int:
    resp = person.post("/chat/api/conversations/", json={"model": "gpt-4o-mini"})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def sse_text(raw: str) -> str:
    import json

    text = []
    for line in raw.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            payload = json.loads(line[6:])
            for choice in payload.get("choices") or ():
                text.append(choice["delta"].get("content") or "")
    return "".join(text)


def test_a_message_goes_through_the_pipeline_and_is_charged(sign_in, workspace, fake_openai, priced):
    person = sign_in(workspace, Role.MEMBER)
    conversation = new_conversation(person)
    before = balance(workspace.pk)[0]

    resp = person.post(
        f"/chat/api/conversations/{conversation}/reply/",
        json={"mode": "send", "model": "gpt-4o-mini", "content": "Hello there"},
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    assert sse_text(resp.text) == REPLY
    request_id = resp.headers["x-request-id"]

    upstream = fake_openai.requests[-1].body
    assert upstream["messages"][-1] == {"role": "user", "content": "Hello there"}
    (row,) = wait_for_logs(request_id=request_id)
    wait_settled()
    assert row.status_code == 200 and row.api_key.kind == KeyKind.CHAT
    assert row.api_key.created_by_id == person.user.pk and row.charged_units > 0
    assert balance(workspace.pk)[0] == before - row.charged_units
    assert ledger_mismatches() == []

    answer = Message.objects.get(conversation_id=conversation, role=MessageRole.ASSISTANT)
    assert answer.content == REPLY and answer.status == MessageStatus.COMPLETE
    assert answer.request_id == request_id
    shown = person.http.get(f"/chat/api/conversations/{conversation}/").json()["messages"][-1]
    assert shown["usage"]["charged_units"] == row.charged_units
    assert shown["usage"]["output_tokens"] == row.output_tokens

    # Regenerate: the last answer is replaced, the history sent again.
    again = person.post(f"/chat/api/conversations/{conversation}/reply/", json={"mode": "regenerate"})
    assert sse_text(again.text) == REPLY
    assert Message.objects.filter(conversation_id=conversation).count() == 2
    # Edit the last message: it is replaced and answered again.
    edited = person.post(
        f"/chat/api/conversations/{conversation}/reply/", json={"mode": "edit", "content": "Hi instead"}
    )
    assert sse_text(edited.text) == REPLY
    assert fake_openai.requests[-1].body["messages"] == [{"role": "user", "content": "Hi instead"}]
    assert list(Message.objects.filter(conversation_id=conversation).values_list("role", "content")) == [
        ("user", "Hi instead"),
        ("assistant", REPLY),
    ]


def test_stop_mid_answer_cancels_the_upstream_call_and_charges_what_was_streamed(
    sign_in, workspace, fake_openai, priced
):
    person = sign_in(workspace, Role.MEMBER)
    conversation = new_conversation(person)
    before = balance(workspace.pk)[0]
    with person.http.stream(
        "POST",
        f"/chat/api/conversations/{conversation}/reply/",
        headers={"X-CSRFToken": person.csrf},
        json={"mode": "send", "model": "gpt-4o-mini", "content": "[[hold]] tell me a story"},
    ) as resp:
        assert resp.status_code == 200
        first = next(resp.iter_raw())
        request_id = resp.headers["x-request-id"]
    assert b"data:" in first
    time.sleep(0.3)  # let the server see the browser leave before the upstream moves on
    fake_openai.release.set()
    (row,) = wait_for_logs(request_id=request_id)
    wait_settled()
    assert row.status_code == 499 and row.cost_estimated is True and row.charged_units > 0
    assert balance(workspace.pk)[0] == before - row.charged_units
    answer = Message.objects.get(conversation_id=conversation, role=MessageRole.ASSISTANT)
    deadline = time.monotonic() + 5
    while answer.status == MessageStatus.STREAMING and time.monotonic() < deadline:
        time.sleep(0.05)
        answer.refresh_from_db()
    assert answer.status == MessageStatus.STOPPED and answer.request_id == request_id
    assert REPLY.startswith(answer.content) and answer.content != REPLY


def test_an_empty_balance_is_said_not_swallowed(sign_in, workspace, fake_openai, priced):
    person = sign_in(workspace, Role.MEMBER)
    conversation = new_conversation(person)
    set_balance(workspace.pk, 0)
    resp = person.post(
        f"/chat/api/conversations/{conversation}/reply/",
        json={"mode": "send", "model": "gpt-4o-mini", "content": "Hello"},
    )
    assert resp.status_code == 402
    assert resp.json()["error"]["code"] == "insufficient_quota"
    assert fake_openai.requests == []
    answer = Message.objects.get(conversation_id=conversation, role=MessageRole.ASSISTANT)
    assert answer.status == MessageStatus.FAILED and "credit" in answer.error.lower()


def test_the_csrf_token_is_required(sign_in, workspace, fake_openai):
    person = sign_in(workspace, Role.MEMBER)
    conversation = new_conversation(person)
    resp = person.http.post(
        f"/chat/api/conversations/{conversation}/reply/", json={"model": "gpt-4o-mini", "content": "hi"}
    )
    assert resp.status_code == 403
    assert fake_openai.requests == []
