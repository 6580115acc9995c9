"""Billing's stages of the /v1 pipeline (``gateway.pipeline`` calls these).

``limit`` (before route)   rate limits: RPM/TPM per key, concurrency per workspace.
``reserve`` (after route)  hold the worst-case charge; 402 when it can't be covered.

``CallBilling`` is the call's billing state and its ``CallStage``:
``answer_fields``          ``cost`` (charged) for the answer and ``usage.cost``
                           (true cost), the one source of cost fields for every
                           path (JSON, pass-through stream, translated stream).
``answer_headers``         ``x-junction-cost`` and the ``x-ratelimit-*`` headers.
``on_events``              counts streamed output (the estimate if usage never comes).
``finish`` -> ``settle``   true cost -> charge; release the rest (the ledger entry
                           is written by the credit book's next flush).

Holds and settlements go through the process's credit book (``billing.book``):
in memory when the process's credit lease covers the call, one transaction on
the thread pool when it has to borrow more. ``CallContext.finish()`` is
synchronous and must never block: settling is a dict update and a queue append.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from billing import ratelimit
from billing.book.credit_book import book
from billing.book.state import Hold, SpendCap
from billing.errors import BillingError, BillingErrorCode
from billing.estimate import answer_chars, passed_answer_chars
from billing.money import Cost, Metered, PriceSheet, cost_of, usd_number, worst_case_sheet
from gateway.canonical import (
    CanonicalRequest,
    CanonicalResponse,
    Event,
    FilePart,
    ImageGenerationTool,
    ImagePart,
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
    WebSearchTool,
)
from gateway.catalog.snapshot import ModelInfo
from gateway.context import CallContext
from gateway.dialects.base import AnswerFields, PassedAnswer
from gateway.errors import ErrorType, GatewayError
from gateway.stage import CallStage

logger = logging.getLogger("junction.billing")

# Worst-case token allowances for parts whose size the request doesn't show.
IMAGE_TOKENS_UPPER = 3_000
FILE_TOKENS_UPPER = 25_000
MESSAGE_OVERHEAD_TOKENS = 8
BODY_SLACK_TOKENS = 256


@dataclass(slots=True)
class CallBilling(CallStage):
    """One call's billing state (created by the pipeline, listed on ``ctx.stages``)."""

    input_upper: int = 0  # tokens; never less than the true count
    input_estimate: int = 0  # tokens; a realistic guess (used only when usage never arrives)
    prices: dict[str, PriceSheet] = field(default_factory=dict)  # by model_id, for each candidate
    markup: Decimal = Decimal(1)
    hold: Hold | None = None
    held_units: int | None = None  # the worst case held (logged)
    counting: bool = False  # count streamed output (once something is held)
    output_chars: int = 0  # text streamed on the translation path, or of a whole answer
    answered: bool = False  # a whole (non-streamed) answer arrived
    lease: ratelimit.Lease | None = None
    limit_headers: dict[str, str] = field(default_factory=dict)
    cost_memo: tuple[Any, Cost | None, bool] | None = None  # (inputs, cost, estimated): asked up to 4x a call

    def answer_headers(self, ctx: CallContext, error: GatewayError | None) -> dict[str, str]:
        headers = dict(self.limit_headers)
        if ctx.usage is not None or self.answered:
            cost = call_cost(ctx, self)
            if cost is not None:
                headers["x-junction-cost"] = str(usd_number(cost.charged_usd))
        return headers

    def answer_fields(self, ctx: CallContext, fields: AnswerFields) -> None:
        """``cost`` is what this call is charged (USD); ``usage.cost`` the true upstream cost."""
        cost = call_cost(ctx, self)
        if cost is not None:
            fields["cost"] = usd_number(cost.charged_usd)
            fields.usage["cost"] = usd_number(cost.true_usd)

    def on_events(self, ctx: CallContext, events: list[Event]) -> list[Event]:
        if self.counting:
            for event in events:
                if isinstance(event, TextDelta | ReasoningDelta):
                    self.output_chars += len(event.text)
                elif isinstance(event, ToolCallDelta):
                    self.output_chars += len(event.arguments)
        return events

    def on_answer(self, ctx: CallContext, answer: CanonicalResponse) -> CanonicalResponse:
        """A whole translated answer: what it said, should its usage be missing."""
        self.output_chars, self.answered = answer_chars(answer), True
        return answer

    def on_passed_answer(self, ctx: CallContext, answer: PassedAnswer) -> None:
        """A whole same-wire answer: what it said, should its usage be missing."""
        self.output_chars, self.answered = passed_answer_chars(answer.decoded), True

    def finish(self, ctx: CallContext) -> None:
        settle(ctx, self)

    def log_extra(self) -> dict[str, Any]:
        return {} if self.held_units is None else {"held_units": self.held_units}


# ------------------------------------------------------------- estimates


def input_token_bounds(req: CanonicalRequest, body_size: int | None = None) -> tuple[int, int]:
    """(upper bound, estimate) of the input tokens. Every token is at least one
    byte of the encoded request, so the request's size bounds the text (with
    slack for a firewall mask that lengthens it); images and files given by
    reference get a fixed allowance."""
    if body_size is None:
        body_size = len(msgspec.json.encode(req.raw)) if req.raw else 0
    size = body_size + body_size // 20 + BODY_SLACK_TOKENS
    extra = 0
    for item in req.items:
        if isinstance(item, Message):
            extra += MESSAGE_OVERHEAD_TOKENS
            for part in item.content:
                if isinstance(part, ImagePart):
                    extra += IMAGE_TOKENS_UPPER
                elif isinstance(part, FilePart) and part.file_id:
                    extra += FILE_TOKENS_UPPER
    return size + extra, math.ceil(body_size / 4) + extra


def max_output_tokens(req: CanonicalRequest, model: ModelInfo) -> int:
    cap = model.max_output_tokens or settings.BILLING_DEFAULT_MAX_OUTPUT_TOKENS
    if req.max_output_tokens:
        return min(req.max_output_tokens, cap)
    return min(cap, settings.BILLING_DEFAULT_MAX_OUTPUT_TOKENS)


def prices_of(model: ModelInfo) -> PriceSheet:
    p = model.prices
    return PriceSheet(
        input=p.input,
        cached_input=p.cached_input,
        output=p.output,
        image=p.image,
        web_search=p.web_search,
        cache_write_5m=p.cache_write_5m,
        cache_write_1h=p.cache_write_1h,
        reasoning=p.reasoning,
    )


def worst_case_units(req: CanonicalRequest, model: ModelInfo, *, input_upper: int, markup: Decimal) -> int:
    n = max(req.n or 1, 1)
    metered = Metered(
        input_tokens=input_upper,
        output_tokens=max_output_tokens(req, model) * n,
        web_search_calls=sum(isinstance(t, WebSearchTool) for t in req.tools),
        images=sum(isinstance(t, ImageGenerationTool) for t in req.tools) * n,
    )
    return cost_of(metered, worst_case_sheet(prices_of(model)), markup=markup).charged_units


# ----------------------------------------------------------------- limit


async def limit(ctx: CallContext, state: CallBilling, *, body_size: int | None = None) -> None:
    """Rate limits from the cached principal; 429 with ``Retry-After`` when over."""
    principal, req = ctx.principal, ctx.request
    assert principal is not None and req is not None
    state.input_upper, state.input_estimate = input_token_bounds(req, body_size)
    if not (principal.rpm_limit or principal.tpm_limit or principal.max_concurrency):
        return
    tokens = state.input_estimate + (req.max_output_tokens or 0) * max(
        req.n or 1, 1
    )  # n choices, as OpenAI counts
    outcome = await ratelimit.acquire(
        key_id=principal.key_id,
        workspace_id=principal.workspace_id,
        rpm=principal.rpm_limit or 0,
        tpm=principal.tpm_limit or 0,
        concurrency=principal.max_concurrency or 0,
        tokens=tokens,
    )
    state.limit_headers = outcome.headers
    state.lease = outcome.lease
    if outcome.refused is not None:
        raise GatewayError(
            ErrorType.RATE_LIMIT,
            outcome.message,
            code=outcome.refused,
            retry_after=str(outcome.retry_after),
            headers=dict(outcome.headers),
        )


# --------------------------------------------------------------- reserve


async def reserve(ctx: CallContext, state: CallBilling, attempts: Sequence[Any]) -> None:
    """Hold the worst case over the attempts the dispatcher may make (each has
    a ``deployment`` and ``byok``: on a workspace's own provider key only the
    BYOK platform fee is charged)."""
    principal, req = ctx.principal, ctx.request
    assert principal is not None and req is not None
    if not state.input_upper:
        state.input_upper, state.input_estimate = input_token_bounds(req)
    state.markup = principal.markup
    worst = 0
    for attempt in attempts:
        model = attempt.deployment.model
        state.prices[model.model_id] = prices_of(model)
        multiplier = byok_multiplier() if attempt.byok else state.markup
        worst = max(worst, worst_case_units(req, model, input_upper=state.input_upper, markup=multiplier))
    await hold(ctx, state, worst)


async def hold(ctx: CallContext, state: CallBilling, worst: int) -> None:
    """Hold ``worst`` units for the call (the images API computes its own worst
    case and sets ``state.prices``); 402 ``insufficient_quota`` when short."""
    principal = ctx.principal
    assert principal is not None
    state.markup = principal.markup
    if worst == 0 and not principal.spend_limit_units:
        return  # free models (or BYOK without a fee): nothing to hold
    cap = (
        SpendCap(principal.spend_limit_units, principal.spend_period) if principal.spend_limit_units else None
    )
    borrow = functools.partial(
        book.hold_blocking,
        request_id=ctx.request_id,
        workspace_id=principal.workspace_id,
        api_key_id=principal.key_id,
        amount=worst,
        cap=cap,
    )
    try:
        # In memory when the lease covers it; otherwise a borrow on the thread pool.
        state.hold = book.try_hold(**borrow.keywords) or await sync_to_async(borrow, thread_sensitive=False)()
    except BillingError as exc:
        raise GatewayError(
            ErrorType.INSUFFICIENT_QUOTA,
            exc.message,
            code="insufficient_quota" if exc.code is BillingErrorCode.INSUFFICIENT_CREDITS else str(exc.code),
        ) from None
    state.held_units = worst
    state.counting = True


def byok_multiplier() -> Decimal:
    """What a call on the workspace's own provider key is charged, as a share
    of its would-be cost (the platform fee; the upstream bills the customer)."""
    return Decimal(str(settings.BYOK_PLATFORM_FEE_PERCENT)) / 100


# ------------------------------------------------------------------ cost


def metered_usage(ctx: CallContext, state: CallBilling) -> tuple[Metered, bool] | None:
    """What to bill: upstream usage when reported; otherwise, when output was
    produced, an estimate (flagged); otherwise nothing."""
    usage: Usage | None = ctx.usage
    # An encoder finishing a stream upstream never reported usage for passes an
    # all-zero Usage: that is "unknown", not "free".
    if usage is not None and (
        usage.input_tokens or usage.output_tokens or usage.images or usage.web_search_calls
    ):
        return (
            Metered(
                input_tokens=usage.input_tokens,
                cached_input_tokens=usage.cached_input_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                cache_write_1h_tokens=usage.cache_write_1h_tokens,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                images=usage.images,
                web_search_calls=usage.web_search_calls,
            ),
            False,
        )
    output = max(ctx.output_events, math.ceil(state.output_chars / 4))
    if output == 0 and not state.answered:
        return None  # failed before any output: charged nothing
    return Metered(input_tokens=state.input_estimate, output_tokens=output), True


def call_cost(ctx: CallContext, state: CallBilling) -> Cost | None:
    if not state.prices:
        return None
    inputs = (ctx.usage, ctx.model_used, ctx.byok, state.output_chars, ctx.output_events, state.answered)
    if state.cost_memo is not None and state.cost_memo[0] == inputs:
        ctx.cost_estimated = state.cost_memo[2]
        return state.cost_memo[1]
    cost = _call_cost(ctx, state)
    state.cost_memo = (inputs, cost, ctx.cost_estimated)
    return cost


def _call_cost(ctx: CallContext, state: CallBilling) -> Cost | None:
    prices = state.prices.get(ctx.model_used) or next(iter(state.prices.values()))
    measured = metered_usage(ctx, state)
    if measured is None:
        return cost_of(Metered(), prices)
    metered, estimated = measured
    ctx.cost_estimated = estimated
    return cost_of(metered, prices, markup=byok_multiplier() if ctx.byok else state.markup)


# ---------------------------------------------------------------- settle

_pending: set[asyncio.Task[Any]] = set()


def settle(ctx: CallContext, state: CallBilling) -> None:
    """At the call's end: fix its cost for the log row, then charge it and
    release the rest of the reservation (and the concurrency slot)."""
    cost = call_cost(ctx, state)
    if cost is not None and (cost.charged_units or cost.cost_units):
        ctx.cost_units, ctx.charged_units = cost.cost_units, cost.charged_units
    else:
        ctx.cost_estimated = False
    if state.hold is not None:
        book.settle(state.hold, ctx.charged_units)
    if state.lease is not None:
        ratelimit.release_soon(state.lease)
        state.lease = None


def run_soon(coro: Any) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # finished from sync code (no loop): run it here
        async_to_sync(_await)(coro)
        return
    task = loop.create_task(coro)
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _await(coro: Any) -> None:
    await coro


async def drain() -> None:
    """Server shutdown: finish this loop's pending releases, then write every
    queued charge and hand the process's unused credit leases back."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
    try:
        await ratelimit.drain()
    except Exception:
        logger.exception("sending queued concurrency releases at shutdown failed (they expire by themselves)")
    await sync_to_async(book.close, thread_sensitive=False)()
