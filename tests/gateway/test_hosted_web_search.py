"""Hosted web search end to end with the official SDKs: a Responses client
sees ``web_search_call`` items, the streamed ``response.web_search_call.*``
events in order and ``url_citation`` annotations whatever the upstream
(OpenAI's own tool, Anthropic's server tool, Gemini's Google Search
grounding); chat and Messages clients get their own citation shapes; each
search is charged at the catalog price and counted on the log row."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.catalog.snapshot import invalidate_catalog
from gateway.models import CatalogModel
from tests.fakes import anthropic_upstream, gemini_upstream, openai_upstream
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

UPSTREAMS = {
    "openai": ("gpt-4o-mini", "fake_openai"),
    "anthropic": ("claude-haiku-4-5", "fake_anthropic"),
    "gemini": ("gemini-2.5-flash", "fake_gemini"),
}
# Per search (catalog price) in units of 1/10,000 USD, with token prices zeroed.
SEARCH_PRICE = Decimal("0.01")
SEARCH_UNITS = 100
STREAM_ORDER = [
    "response.output_item.added",
    "response.web_search_call.in_progress",
    "response.web_search_call.searching",
    "response.web_search_call.completed",
    "response.output_item.done",
]


@pytest.fixture(params=list(UPSTREAMS))
def upstream(request):
    model, fixture = UPSTREAMS[request.param]
    return request.param, model, request.getfixturevalue(fixture)


def only_search_priced(model_id: str) -> None:
    """Tokens free, each search ``SEARCH_PRICE``: a call's cost is its searches."""
    CatalogModel.objects.filter(model_id=model_id).update(
        input_price=0,
        cached_input_price=0,
        output_price=0,
        reasoning_price=0,
        cache_write_5m_price=0,
        cache_write_1h_price=0,
        web_search_price=SEARCH_PRICE,
    )
    invalidate_catalog()


def expected_citations(name: str, text: str) -> list[tuple[str, str]]:
    """(url, cited text) the SDK should see for each upstream's fake answer."""
    if name == "openai":
        return [(openai_upstream.SEARCH_URL, "héllo 🌍")]
    if name == "anthropic":
        return [(anthropic_upstream.SEARCH_RESULTS[0]["url"], anthropic_upstream.SEARCH_CITED)]
    return [(chunk["web"]["uri"], "héllo 🌍") for chunk in gemini_upstream.SEARCH_CHUNKS]


def message_of(response):
    """The answer's last message (Anthropic may say something before it searches)."""
    messages = [item for item in response.output if item.type == "message"]
    assert (
        response.output.index(messages[-1])
        > response.output.index(next(i for i in response.output if i.type == "web_search_call"))
        or messages[-1].content[0].annotations
    )
    return messages[-1].content[0]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_web_search_items_annotations_and_charge(client, upstream, stream):
    name, model, _ = upstream
    only_search_priced(model)
    kwargs = {"model": model, "input": "Who says hello? [[search]]", "tools": [{"type": "web_search"}]}
    events = []
    if stream:
        with client.responses.stream(**kwargs) as s:
            events = [event.type for event in s]
            response = s.get_final_response()
    else:
        response = client.responses.create(**kwargs)
    searches = [item for item in response.output if item.type == "web_search_call"]
    assert searches and all(item.status == "completed" for item in searches)
    assert searches[0].action.type == "search" and searches[0].action.query
    text = message_of(response)
    cited = [(a.url, text.text[a.start_index : a.end_index]) for a in text.annotations]
    assert cited == expected_citations(name, text.text)
    assert all(a.type == "url_citation" and a.title for a in text.annotations)
    if stream:
        first = events.index("response.web_search_call.in_progress") - 1
        assert events[first : first + 5] == STREAM_ORDER
        assert events.count("response.output_text.annotation.added") == len(cited)
        last_done = len(events) - 1 - events[::-1].index("response.output_text.done")
        assert events.index("response.output_text.annotation.added") < last_done
    (row,) = wait_for_logs(1)
    searched = 1 if name == "gemini" else len(searches)  # Gemini: one charge per grounded prompt
    assert (row.provider, row.status_code, row.extra.get("web_search_calls")) == (name, 200, searched)
    assert row.cost_units == SEARCH_UNITS * searched


def test_responses_web_search_stream_on_openai_is_relayed_as_sent(client, fake_openai):
    """Same wire: OpenAI's own events pass through; the SDK reads the query and sources."""
    with client.responses.stream(
        model="gpt-4o-mini", input="hi [[search]]", tools=[{"type": "web_search_preview"}]
    ) as s:
        events = list(s)
        response = s.get_final_response()
    done = [e for e in events if e.type == "response.output_item.done" and e.item.type == "web_search_call"]
    assert done[0].item.action.query == openai_upstream.SEARCH_QUERY
    assert [src.url for src in done[0].item.action.sources] == [openai_upstream.SEARCH_URL]
    assert fake_openai.requests[-1].body["tools"] == [{"type": "web_search_preview"}]
    assert response.output[0].type == "web_search_call"


def test_web_search_reaches_each_provider_as_its_own_tool(client, fake_anthropic, fake_gemini):
    location = {"type": "approximate", "city": "Paris", "country": "FR"}
    tool = {"type": "web_search", "user_location": location}
    client.responses.create(model="claude-haiku-4-5", input="hi", tools=[tool])
    sent = fake_anthropic.requests[-1].body["tools"]
    assert sent == [{"type": "web_search_20250305", "name": "web_search", "user_location": location}]
    client.responses.create(model="gemini-2.5-flash", input="hi", tools=[{"type": "web_search"}])
    assert fake_gemini.requests[-1].body["tools"] == [{"googleSearch": {}}]


def test_an_option_a_provider_cannot_honour_is_refused(client, fake_gemini):
    with pytest.raises(Exception) as info:
        client.responses.create(
            model="gemini-2.5-flash",
            input="hi",
            tools=[{"type": "web_search", "search_context_size": "high"}],
        )
    err = info.value
    assert err.status_code == 400 and err.body["param"] == "tools[0].search_context_size"
    assert fake_gemini.requests == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_chat_gets_url_citation_annotations(client, fake_anthropic, stream):
    kwargs = {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "Who says hello? [[search]]"}],
        "web_search_options": {},
    }
    if stream:
        text, annotations = "", []
        for chunk in client.chat.completions.create(stream=True, **kwargs):
            for choice in chunk.choices:
                text += choice.delta.content or ""
                annotations += (choice.delta.model_extra or {}).get("annotations") or []
    else:
        message = client.chat.completions.create(**kwargs).choices[0].message
        text, annotations = message.content, [a.model_dump() for a in message.annotations]
    (annotation,) = annotations
    cite = annotation["url_citation"]
    assert annotation["type"] == "url_citation" and cite["url"] == anthropic_upstream.SEARCH_RESULTS[0]["url"]
    assert text[cite["start_index"] : cite["end_index"]] == anthropic_upstream.SEARCH_CITED
    sent = fake_anthropic.requests[-1].body["tools"]
    assert sent == [{"type": "web_search_20250305", "name": "web_search"}]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_messages_client_gets_search_blocks_and_citations_from_openai(claude, fake_openai, stream):
    kwargs = {
        "model": "gpt-4o-mini",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Who says hello? [[search]]"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
    }
    if stream:
        with claude.messages.stream(**kwargs) as s:
            message = s.get_final_message()
    else:
        message = claude.messages.create(**kwargs)
    kinds = [block.type for block in message.content]
    assert kinds[:2] == ["server_tool_use", "web_search_tool_result"]
    assert message.content[0].input == {"query": openai_upstream.SEARCH_QUERY}
    assert message.content[1].content[0].url == openai_upstream.SEARCH_URL
    cited = [b for b in message.content if b.type == "text" and b.citations]
    assert [c.url for b in cited for c in b.citations] == [openai_upstream.SEARCH_URL]
    assert all(c.cited_text == "héllo 🌍" for c in cited[0].citations)
    assert "".join(b.text for b in message.content if b.type == "text") == openai_upstream.REPLY
    sent = fake_openai.requests[-1].body["tools"]
    assert sent == [{"type": "web_search"}]


# ------------------------------------------------------------ refusals


def test_unknown_tool_is_unsupported_tool_in_each_dialect(client, claude, fake_openai):
    with pytest.raises(Exception) as info:
        client.responses.create(model="gpt-4o-mini", input="hi", tools=[{"type": "computer_use_preview"}])
    assert info.value.status_code == 400
    assert (info.value.body["code"], info.value.body["param"]) == ("unsupported_tool", "tools[0]")
    with pytest.raises(Exception) as info:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "function", "function": {"name": "f"}}, {"type": "web_search"}],
        )
    assert info.value.status_code == 400
    assert (info.value.body["code"], info.value.body["param"]) == ("unsupported_tool", "tools[1]")
    with pytest.raises(Exception) as info:
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "bash_20250124", "name": "bash"}],
        )
    assert info.value.status_code == 400
    error = info.value.body["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"]) == ("unsupported_tool", "tools.0")
    assert fake_openai.requests == []


def test_web_search_on_a_model_without_it_names_the_model(client, fake_openai):
    with pytest.raises(Exception) as info:
        client.responses.create(model="gpt-5-nano", input="hi", tools=[{"type": "web_search"}])
    body = info.value.body
    assert (
        info.value.status_code == 400 and body["code"] == "unsupported_tool" and body["param"] == "tools[0]"
    )
    assert "gpt-5-nano" in body["message"] and "web_search" in body["message"]
    assert fake_openai.requests == []
    (row,) = wait_for_logs(1)
    assert row.status_code == 400


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_chat_search_on_openai_same_wire_is_charged_one_search(client, fake_openai, stream):
    """OpenAI's chat answer reports no search count; its search models search on every call."""
    only_search_priced("gpt-4o-mini")
    kwargs = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "web_search_options": {},
    }
    if stream:
        list(client.chat.completions.create(stream=True, **kwargs))
    else:
        client.chat.completions.create(**kwargs)
    assert fake_openai.requests[-1].body["web_search_options"] == {}
    (row,) = wait_for_logs(1)
    assert (row.extra.get("web_search_calls"), row.cost_units) == (1, SEARCH_UNITS)
