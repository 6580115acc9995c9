"""The router package: ``route`` turns a request into candidates and a trace."""

from routing_rules.router.core import NO_ELIGIBLE, ROUTE_HEADER, RouteDecision, label, resolve, route
from routing_rules.router.features import RequestFeatures, request_features
from routing_rules.router.rules import CompiledRule, RuleFormatError, compile_rule
from routing_rules.router.scoring import DeploymentStats

__all__ = [
    "NO_ELIGIBLE",
    "ROUTE_HEADER",
    "CompiledRule",
    "DeploymentStats",
    "RequestFeatures",
    "RouteDecision",
    "RuleFormatError",
    "compile_rule",
    "label",
    "request_features",
    "resolve",
    "route",
]
