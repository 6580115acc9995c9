"""The firewall engine: pure Python (no Django, no I/O).

``Engine.compile(specs)`` builds the matchers once; a ``Session`` applies them
to one request; ``StreamMasker`` and ``EventFilter`` do the same on streams.
"""

from firewall.engine.policy import EMPTY, Engine, Session
from firewall.engine.regex import PatternError
from firewall.engine.stream import EventFilter, StreamMasker, filter_events
from firewall.engine.types import Action, Blocked, Detector, Hit, MatcherKind, RuleSpec, Scope

__all__ = [
    "EMPTY",
    "Action",
    "Blocked",
    "Detector",
    "Engine",
    "EventFilter",
    "Hit",
    "MatcherKind",
    "PatternError",
    "RuleSpec",
    "Scope",
    "Session",
    "StreamMasker",
    "filter_events",
]
