"""The /v1 request pipeline: the one place that runs a model call's stages in order.

``model_call`` lists them all: authenticate -> decode -> idempotency ->
limit -> firewall -> route -> reserve -> dispatch (with fallback) + relay ->
settle -> log. Each stage is a plain function with its inputs and outputs in
its signature; a stage app's per-call state is its ``CallStage``
(``gateway.stage``), created here and listed on ``ctx.stages`` so the relay
can ask it at fixed points and ``CallContext.finish`` can end it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from billing import idempotency
from billing import stages as billing
from billing.idempotency import IdempotencyCall
from billing.stages import CallBilling
from files import inputs as file_inputs
from files import upstream as file_upstream
from firewall import hooks as firewall
from firewall.hooks import FirewallCall
from gateway import hosted_images
from gateway.auth import authenticate, authenticate_hash, bearer_token
from gateway.canonical import Dialect
from gateway.capabilities import check_logprobs
from gateway.catalog.snapshot import Credentials, DeploymentInfo, get_catalog, provider_credentials
from gateway.context import CallContext
from gateway.dialects.base import InboundDialect
from gateway.errors import ErrorType, GatewayError, database_unavailable, invalid_request
from gateway.hosted_tools import check_tools
from gateway.http import UpstreamFailure, UpstreamTimeout, upstream_post
from gateway.providers import provider_adapter
from gateway.relay import Plan, RelayStream, add_headers, relay_json, relay_stream
from routing_rules.router import ROUTE_HEADER
from routing_rules.stage import Attempt, RoutingCall, attempt_begin, attempt_failed, attempt_ok, route_call

logger = logging.getLogger("junction.pipeline")

MAX_ATTEMPTS = 3


def request_headers(request: HttpRequest) -> dict[str, str]:
    """Lower-case name -> value, as ``request.headers`` has them: names with an
    underscore are dropped and repeated headers are joined with commas.
    Read from the ASGI scope when there is one (``request.headers`` would
    first build ``META`` names and then undo them)."""
    scope = getattr(request, "scope", None)
    if scope is None:
        return {k.lower(): v for k, v in request.headers.items()}
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin1").lower()
        if "_" in name:
            continue  # Django's ASGIRequest drops these (hyphen/underscore spoofing)
        value = raw_value.decode("latin1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def new_context(request: HttpRequest, *, endpoint: str, dialect: InboundDialect) -> CallContext:
    return CallContext(
        endpoint=endpoint,
        dialect=dialect,
        headers=request_headers(request),
        client_ip=request.META.get("REMOTE_ADDR"),
    )


def parse_json_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise invalid_request("The request body is empty; expected a JSON object.", code="invalid_json")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise invalid_request(f"The request body is not valid JSON: {exc}.", code="invalid_json") from None
    except RecursionError:  # the decoders bound depth far lower (gateway.dialects.validate.MAX_DEPTH)
        raise invalid_request("The request body is nested too deeply.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.", code="invalid_json")
    return body


def error_answer(ctx: CallContext, err: GatewayError) -> HttpResponse:
    """The error in the caller's dialect, with the stages' headers."""
    ctx.fail(err)
    response = HttpResponse(
        ctx.dialect.encode_error(err, ctx.request_id), status=err.status, content_type="application/json"
    )
    response["x-request-id"] = ctx.request_id
    add_headers(response, ctx.answer_headers())  # billing: rate-limit headers
    if err.retry_after:
        response["retry-after"] = err.retry_after
    for name, value in err.headers.items():
        response[name] = value
    return response


def error_response(ctx: CallContext, err: GatewayError) -> HttpResponse:
    """``error_answer`` for the endpoints that are not model calls (models,
    credits, count_tokens): the call ends here."""
    response = error_answer(ctx, err)
    ctx.finish()
    return response


# ------------------------------------------------------------------ entry


async def model_call(
    request: HttpRequest, *, dialect: InboundDialect, endpoint: str, key_hash: str | None = None
) -> HttpResponseBase:
    """One /v1 model call, every stage. ``key_hash`` is for in-process callers
    that authenticated the person themselves (the chat app): the call then acts
    with that key instead of the request's ``Authorization`` header."""
    ctx = new_context(request, endpoint=endpoint, dialect=dialect)
    idempotent, routing, screen, bill = IdempotencyCall(), RoutingCall(), FirewallCall(), CallBilling()
    inputs = file_inputs.FileInputs()
    images = hosted_images.HostedImages()
    # The relay asks the stages in this order (answer headers and fields, each
    # batch of events, the answer); ``ctx.finish()`` ends each in this order
    # -- billing settles last -- and then queues the log row.
    ctx.stages = (idempotent, inputs, images, routing, screen, bill)
    response: HttpResponseBase | None = None
    try:
        # Anthropic's SDK sends its key as ``x-api-key``.
        allow_x_api_key = dialect.DIALECT is Dialect.MESSAGES
        if key_hash is not None:
            ctx.principal = await authenticate_hash(key_hash)
        else:
            ctx.principal = await authenticate(bearer_token(ctx.headers, allow_x_api_key=allow_x_api_key))
        body = parse_json_body(request.body)
        creq = dialect.decode(body, ctx.headers)
        ctx.attach(creq)
        response = await idempotency.begin(ctx, idempotent, request.body)  # a replay of the first answer
        if response is not None:
            return response
        await billing.limit(ctx, bill, body_size=len(request.body))  # rate limits (429)
        await file_inputs.resolve_inputs(ctx, inputs)  # file ids -> bytes, text files -> text (404, 413)
        await firewall.screen_request(ctx, screen, body_size=len(request.body))  # prompt + metadata scopes
        catalog = await get_catalog()
        file_inputs.check_capabilities(ctx, catalog)  # images need vision, documents files (400)
        check_tools(ctx, catalog)  # hosted tools need the model's catalog flag (400 unsupported_tool)
        hosted_images.arm(ctx, images, request)  # the image tool's images are stored: translation forced
        check_logprobs(creq, catalog)  # log probabilities need a model that returns them (400)
        routed = await route_call(ctx, routing, creq, catalog)
        await billing.reserve(ctx, bill, routed.attempts[:MAX_ATTEMPTS])  # hold the worst case (402)
        response = await dispatch(ctx, routing, routed.attempts, inputs)  # dispatch + relay
        response[ROUTE_HEADER] = routed.decision.header
        response = await idempotency.store(ctx, idempotent, response)  # keep the answer for a retry
        return response
    except GatewayError as err:
        response = error_answer(ctx, err)
        return response
    except asyncio.CancelledError:  # the client went away before the answer: log (and settle) anyway
        ctx.client_disconnected()
        raise
    except (OperationalError, InterfaceError) as exc:  # PostgreSQL down or restarting: retry later
        logger.warning("database unavailable in %s (%s): %s", endpoint, ctx.request_id, exc)
        response = error_answer(ctx, database_unavailable())
        return response
    except Exception:
        logger.exception("unhandled error in %s (%s)", endpoint, ctx.request_id)
        response = error_answer(
            ctx, GatewayError(ErrorType.INTERNAL, "Junction failed to handle the request.")
        )
        return response
    finally:
        # settle + log: here for a JSON answer, an error or a cancelled call;
        # a stream ends the call when its last byte is sent (``gateway.relay``).
        if not isinstance(response, RelayStream):
            ctx.finish()


# --------------------------------------------------------------- dispatch


async def dispatch(
    ctx: CallContext, routing: RoutingCall, candidates: list[Attempt], inputs: file_inputs.FileInputs
) -> HttpResponseBase:
    """Try candidates in order; fall back on a retryable failure that happened
    before any byte reached the client."""
    last: GatewayError | None = None
    for index, attempt in enumerate(candidates[:MAX_ATTEMPTS]):
        deployment = attempt.deployment
        ctx.provider = deployment.provider.slug
        ctx.model_used = deployment.model.model_id
        started = await attempt_begin(ctx, routing, attempt, index)
        try:
            response = await send_attempt(ctx, deployment, inputs)
            attempt_ok(ctx, routing, attempt, started)
            return response
        except GatewayError as err:
            attempt_failed(ctx, routing, attempt, started, err)
            last = err
            if not err.retryable:
                break
    assert last is not None
    raise last


def same_wire(kind: str, dialect: Dialect) -> bool:
    """Whether a provider of this kind speaks the caller's dialect natively."""
    provider = provider_adapter(kind)
    return provider is not None and provider.passthrough(dialect) is not None


def attempt_credentials(ctx: CallContext, deployment: DeploymentInfo) -> Credentials:
    creds = ctx.upstream_credentials or provider_credentials(deployment.provider)
    if creds is None:
        raise GatewayError(ErrorType.ROUTING, f"Provider '{deployment.provider.slug}' is not configured.")
    return creds


async def send_attempt(
    ctx: CallContext, deployment: DeploymentInfo, inputs: file_inputs.FileInputs
) -> HttpResponseBase:
    """One attempt: Junction files by reference where this upstream takes them
    (``files.upstream``: uploaded once, cached), then the request. An upstream
    that forgot an id it was sent gets the attempt once more, re-uploaded."""
    creds = attempt_credentials(ctx, deployment)
    placement = inputs.placement
    await file_upstream.place_files(placement, deployment, creds)
    try:
        return await send(ctx, deployment, plan_attempt(ctx, deployment))
    except GatewayError as err:
        if not await file_upstream.forget_gone(placement, err):
            raise
    await file_upstream.place_files(placement, deployment, creds)
    return await send(ctx, deployment, plan_attempt(ctx, deployment))


def plan_attempt(ctx: CallContext, deployment: DeploymentInfo) -> Plan:
    assert ctx.request is not None
    creds = attempt_credentials(ctx, deployment)
    dialect = ctx.request.dialect
    kind = deployment.provider.kind
    provider = provider_adapter(kind)
    if provider is not None and same_wire(kind, dialect) and not ctx.force_translate:
        passthrough = provider.passthrough(dialect)
        assert passthrough is not None
        upstream = passthrough.build_request(
            ctx.request,
            upstream_model=deployment.upstream_model,
            base_url=creds.base_url,
            api_key=creds.api_key,
        )
        return Plan(upstream=upstream, provider=provider, passthrough=passthrough)
    if provider is None or ctx.dialect.TRANSLATOR is None:
        raise GatewayError(
            ErrorType.ROUTING,
            f"Serving the {dialect} API from a '{kind}' upstream is not available.",
            provider=deployment.provider.slug,
        )
    upstream = provider.build_request(
        ctx.request,
        upstream_model=deployment.upstream_model,
        base_url=creds.base_url,
        api_key=creds.api_key,
        headers=ctx.request.passthrough_headers,
    )
    return Plan(upstream=upstream, provider=provider, passthrough=None)


async def send(ctx: CallContext, deployment: DeploymentInfo, plan: Plan) -> HttpResponseBase:
    provider = deployment.provider.slug
    upstream = plan.upstream
    try:
        resp = await upstream_post(upstream.url, body=upstream.body, headers=upstream.headers)
    except UpstreamTimeout:
        raise GatewayError(
            ErrorType.TIMEOUT,
            f"Upstream provider '{provider}' timed out.",
            code="upstream_timeout",
            provider=provider,
            retryable=True,
        ) from None
    except UpstreamFailure as exc:
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Could not reach upstream provider '{provider}': {exc}.",
            code="upstream_unreachable",
            provider=provider,
            retryable=True,
        ) from None
    if resp.status_code >= 400:
        try:
            body = await resp.aread()
        except UpstreamFailure:
            body = b""  # the status alone still says what happened
        finally:
            await resp.aclose()
        raise plan.provider.map_error(
            status=resp.status_code, body=body, headers=dict(resp.headers), provider=provider
        )
    if not upstream.stream:
        return await relay_json(ctx, resp, plan)
    return relay_stream(ctx, resp, plan)
