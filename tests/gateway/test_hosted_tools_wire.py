"""Hosted tools at the wire level (no server): the providers' search answers
decoded at any byte split, citation offsets, and the search history a
Messages caller sends back."""

from __future__ import annotations

import base64
import json

import msgspec
import pytest

from gateway.canonical import (
    CitationAdded,
    Finish,
    FinishReason,
    Message,
    ResponseStart,
    TextDelta,
    UrlCitation,
    WebSearchCall,
    WebSearchProgress,
)
from gateway.dialects import messages, responses
from gateway.dialects.responses.stream import StreamEncoder
from gateway.providers import anthropic as anthropic_wire
from gateway.providers import gemini as gemini_wire
from gateway.providers import openai as openai_wire
from gateway.providers.gemini import grounding
from tests.fakes import anthropic_upstream, gemini_upstream
from tests.fakes.openai_upstream import IMAGE_PNG


def _anthropic_search_message() -> dict:
    blocks = anthropic_upstream.search_blocks(anthropic_upstream.REPLY)
    usage = {**anthropic_upstream.USAGE, "server_tool_use": {"web_search_requests": 1}}
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": blocks,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def _decode_all(decoder, data: bytes, split: int) -> list:
    events = []
    for i in range(0, len(data), split):
        events += decoder.feed(data[i : i + split])
    return events + decoder.close()


@pytest.mark.parametrize("split", [1, 3, 17, 10_000])
def test_anthropic_search_stream_decodes_the_same_at_any_split(split):
    message = _anthropic_search_message()
    data = b"".join(anthropic_upstream._stream_frames(message, ""))
    events = _decode_all(anthropic_wire.StreamDecoder(), data, split)
    searches = [e for e in events if isinstance(e, WebSearchProgress)]
    assert [e.status for e in searches] == ["in_progress", "searching", "completed"]
    assert searches[1].query == anthropic_upstream.SEARCH_QUERY
    assert searches[2].sources == [r["url"] for r in anthropic_upstream.SEARCH_RESULTS]
    # The citation spans its block within the message after the search.
    after = events[events.index(searches[2]) :]
    text = "".join(e.text for e in after if isinstance(e, TextDelta))
    (cited,) = [e.citation for e in after if isinstance(e, CitationAdded)]
    assert text[cited.start_index : cited.end_index] == anthropic_upstream.SEARCH_CITED
    usage = next(e.usage for e in events if hasattr(e, "usage"))
    assert usage.web_search_calls == 1


def test_anthropic_search_answer_parses_to_a_search_and_cited_text():
    answer = anthropic_wire.parse_response(msgspec.json.encode(_anthropic_search_message()))
    kinds = [type(item).__name__ for item in answer.output]
    assert kinds == ["Message", "WebSearchCall", "Message"]
    call = answer.output[1]
    assert (call.status, call.query, call.provider) == (
        "completed",
        anthropic_upstream.SEARCH_QUERY,
        "anthropic",
    )
    assert call.state["content"] == anthropic_upstream.SEARCH_RESULTS  # replayed whole to Anthropic
    cited = [p for p in answer.output[2].content if p.citations]
    assert cited[0].text == anthropic_upstream.SEARCH_CITED
    assert cited[0].citations == [
        UrlCitation(
            anthropic_upstream.SEARCH_RESULTS[0]["url"],
            anthropic_upstream.SEARCH_RESULTS[0]["title"],
            0,
            len(anthropic_upstream.SEARCH_CITED),
        )
    ]
    assert answer.usage.web_search_calls == 1


def test_gemini_segments_in_utf8_bytes_become_character_offsets():
    reply = gemini_upstream.REPLY
    meta = gemini_upstream.grounding(reply)
    found = grounding.citations(meta, reply)
    assert [reply[c.start_index : c.end_index] for c in found] == ["héllo 🌍", "héllo 🌍"]
    assert [c.url for c in found] == [c["web"]["uri"] for c in gemini_upstream.SEARCH_CHUNKS]
    calls = grounding.searches("r1", meta)
    assert [c.query for c in calls] == gemini_upstream.SEARCH_QUERIES
    assert calls[0].id == grounding.searches("r1", meta)[0].id  # stable: JSON and stream agree


def test_gemini_grounded_answer_counts_one_search():
    body = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": gemini_upstream.REPLY}]},
                "finishReason": "STOP",
                "groundingMetadata": gemini_upstream.grounding(gemini_upstream.REPLY),
            }
        ],
        "usageMetadata": gemini_upstream.USAGE,
        "responseId": "r1",
    }
    answer = gemini_wire.parse_response(json.dumps(body).encode())
    assert [type(i).__name__ for i in answer.output] == ["WebSearchCall", "WebSearchCall", "Message"]
    assert answer.usage.web_search_calls == 1
    message = answer.output[2]
    assert isinstance(message, Message) and len(message.content[0].citations or []) == 2


def test_a_search_the_upstream_never_finished_is_closed_incomplete():
    req = messages.decode(
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}, {}
    )
    encoder = StreamEncoder(request=req, finalize=lambda usage: {})
    out = encoder.encode(ResponseStart(id="r", model="m"))
    out += encoder.encode(WebSearchProgress(id="ws_1", status="in_progress"))
    out += encoder.encode(Finish(FinishReason.STOP))
    done = [
        json.loads(line[6:])
        for line in out.decode().splitlines()
        if line.startswith("data: ") and '"response.output_item.done"' in line
    ]
    assert done[0]["item"] == {
        "id": "ws_1",
        "type": "web_search_call",
        "status": "incomplete",
        "action": {"type": "search", "query": ""},
    }


def test_messages_search_history_goes_back_to_anthropic_whole_and_not_to_openai():
    blocks = anthropic_upstream.search_blocks("Hello.")
    body = {
        "model": "m",
        "max_tokens": 50,
        "messages": [
            {"role": "user", "content": "Who says hello?"},
            {"role": "assistant", "content": blocks},
            {"role": "user", "content": "Thanks, and then?"},
        ],
    }
    req = messages.decode(body, {})
    (call,) = [item for item in req.items if isinstance(item, WebSearchCall)]
    assert call.sources == [r["url"] for r in anthropic_upstream.SEARCH_RESULTS]
    sent = json.loads(
        anthropic_wire.build_request(req, upstream_model="c", base_url="https://a", api_key="k").body
    )
    assistant = sent["messages"][1]["content"]
    assert [b["type"] for b in assistant] == [
        "text",
        "server_tool_use",
        "web_search_tool_result",
        "text",
        "text",
        "text",
    ]
    assert assistant[2]["content"] == anthropic_upstream.SEARCH_RESULTS
    to_openai = json.loads(
        openai_wire.build_request(req, upstream_model="g", base_url="https://o", api_key="k").body
    )
    assert all(item.get("type") != "web_search_call" for item in to_openai["input"])


def test_an_image_made_earlier_goes_back_to_gemini_as_model_output():
    image = base64.b64encode(IMAGE_PNG).decode()
    req = responses.decode(
        {
            "model": "m",
            "input": [
                {"role": "user", "content": "Draw"},
                {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": image},
                {"role": "user", "content": "Make it blue"},
            ],
            "tools": [{"type": "image_generation"}],
        },
        {},
    )
    sent = json.loads(
        gemini_wire.build_request(req, upstream_model="g", base_url="https://g", api_key="k").body
    )
    assert sent["contents"][1] == {
        "role": "model",
        "parts": [{"inlineData": {"mimeType": "image/png", "data": image}}],
    }
    assert sent["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
