"""Structured fuzzing for request bodies: hypothesis strategies that take a
valid JSON body and break it in the ways clients do (a wrong type anywhere,
a missing field, an unknown field, huge numbers, NUL characters)."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

# Examples per fuzz test: enough to meet every field of the sample bodies a few
# times in ``make test`` (~30 s for all of them); raise it for a longer hunt.
EXAMPLES = int(os.environ.get("JUNCTION_FUZZ_EXAMPLES", "40"))

Path = tuple[str | int, ...]

ODD_VALUES = st.sampled_from(
    [None, True, 0, -1, 5, 2**31, 2**63, -(2**63), 1e308, "", "x", "\x00", "u\x00", [], {}, [5], {"type": {}}]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def paths(node: Any, prefix: Path = ()) -> Iterator[Path]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


def _parent(body: Any, path: Path) -> Any:
    for part in path[:-1]:
        body = body[part]
    return body


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """``valid`` with one to three mutations at random places."""
    body = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        targets = [p for p in paths(body) if p]
        if not targets:  # everything was deleted
            break
        path = draw(st.sampled_from(targets))
        parent = _parent(body, path)
        op = draw(st.sampled_from(["replace", "replace", "odd", "delete", "add", "wrap"]))
        if op == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["type", "role", "content", "extra", "max_tokens", "base_url"]))] = (
                draw(JSON_VALUES)
            )
        elif op == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        elif op == "odd":
            # a copy: the sampled constants ([], {}) must not be changed by later mutations
            parent[path[-1]] = copy.deepcopy(draw(ODD_VALUES))
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return body


def nested(depth: int) -> bytes:
    """A chat body whose metadata is nested ``depth`` levels deep (built as
    bytes: ``json.dumps`` itself would recurse too deep)."""
    inner = b'{"a":' * depth + b'"x"' + b"}" * depth
    return b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"metadata":' + inner + b"}"
