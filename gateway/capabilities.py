"""Request options a model must list in the catalog's ``capabilities`` to be
asked for by name (the router filters ``auto`` models by the same names, in
``routing_rules.router.features``).

``logprobs``: token log probabilities. OpenAI's reasoning models and most
OpenAI-compatible servers do not return them, so the catalog says which
models do; asking another one is a 400 naming the parameter, before any
upstream call or charge.
"""

from __future__ import annotations

from files.inputs import requested_model
from gateway.canonical import CanonicalRequest
from gateway.catalog.snapshot import Catalog
from gateway.errors import ErrorType, GatewayError
from gateway.providers.params import param_name


def check_logprobs(req: CanonicalRequest, catalog: Catalog) -> None:
    if not req.wants_logprobs:
        return
    model = requested_model(req.model, catalog)
    if model is None or "logprobs" in model.capabilities:
        return
    param = param_name(req, "logprobs") if req.logprobs else "top_logprobs"
    raise GatewayError(
        ErrorType.INVALID_REQUEST,
        f"Model '{model.model_id}' does not return token log probabilities (no 'logprobs' capability); "
        f"remove '{param}' or choose another model.",
        param=param,
        code="unsupported_parameter",
    )
