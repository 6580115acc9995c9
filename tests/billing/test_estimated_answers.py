"""An answer that arrives whole but without usage is charged the estimate a
cut stream is charged (input estimate + 4 characters a token of what it said),
flagged as estimated on its log row -- never $0."""

from __future__ import annotations

import math

import pytest

from billing.estimate import passed_answer_chars
from tests.billing.conftest import balance, charges, wait_settled
from tests.fakes.openai_upstream import REPLY
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

HI = [{"role": "user", "content": "Say hello"}]
OUTPUT_UNITS = math.ceil(math.ceil(len(REPLY) / 4) * 2000 / 100)  # the reply at $2,000 per 1M output


def test_a_pass_through_answer_without_usage_is_charged_an_estimate(client, fake_openai, api_key, priced):
    fake_openai.omit_usage = True
    before = balance(api_key.workspace.pk)[0]
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI, max_tokens=50)
    completion = raw.parse()
    assert completion.usage is None or not completion.usage.completion_tokens
    assert completion.model_extra["cost"] > 0 and float(raw.headers["x-junction-cost"]) > 0
    wait_settled()
    (row,) = wait_for_logs()
    assert row.cost_estimated is True and row.charged_units > OUTPUT_UNITS
    (charge,) = charges()
    assert charge.amount_units == -row.charged_units
    assert balance(api_key.workspace.pk)[0] == before - row.charged_units


def test_a_translated_answer_without_usage_is_charged_an_estimate(claude, fake_openai, api_key, priced):
    fake_openai.omit_usage = True
    message = claude.messages.create(model="gpt-4o-mini", max_tokens=50, messages=HI)
    assert message.content[0].text == REPLY
    assert message.model_extra["cost"] > 0
    wait_settled()
    (row,) = wait_for_logs()
    assert row.cost_estimated is True and row.charged_units > OUTPUT_UNITS
    assert charges()[0].amount_units == -row.charged_units


def test_an_answer_with_usage_is_not_estimated(client, fake_openai, priced):
    client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=50)
    (row,) = wait_for_logs()
    assert row.cost_estimated is False


def test_what_an_answer_said_in_each_dialect():
    chat = {
        "id": "x",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": "abcd",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                }
            }
        ],
    }
    messages = {
        "id": "msg",
        "content": [{"type": "text", "text": "abcd"}, {"type": "tool_use", "input": {"a": 1}}],
    }
    responses = {"output": [{"type": "message", "content": [{"type": "output_text", "text": "abcd"}]}]}
    assert passed_answer_chars(chat) == 6
    assert passed_answer_chars(messages) == 4 + len('{"a":1}')
    assert passed_answer_chars(responses) == 4
