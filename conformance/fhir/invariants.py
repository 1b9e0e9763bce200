"""FHIRPath invariants: compiled once with fhirpathpy, plus the base invariants coded natively.

ele-1, ext-1 and dom-2..6 run natively (every element carries ele-1, and fhirpathpy cannot evaluate
``hasValue()`` nor the base dom-3 expression). Other expressions go through fhirpathpy; ``hasValue()`` is
rewritten as ``exists()`` (equivalent on the JSON primitives we evaluate) and ``matches()`` anchored (whole
string, as HL7 evaluates it). An expression fhirpathpy cannot
compile or run is counted as skipped, never reported as a failure.

Resource types validated without a snapshot get the core invariants of ``profiles/fhir/core-invariants.json``
(the bench holds no core StructureDefinitions offline).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

from conformance.resources import profiles_path

NATIVE_KEYS = frozenset({"ele-1", "ext-1", "dom-2", "dom-3", "dom-4", "dom-5", "dom-6"})
_HAS_VALUE = re.compile(r"\bhasValue\(\)")
# matches() with a literal regex: the HL7 validator matches the whole string (cmd-0 fails on the name
# 'documentReferenceToPDSM' in the IG publisher's results), fhirpathpy searches: anchor the regex.
_MATCHES = re.compile(r"\.matches\('((?:[^'\\]|\\.)*)'\)")

Compiled = Callable[[Any, dict[str, Any]], list[Any]]


@lru_cache(maxsize=2048)
def compiled(expression: str) -> Compiled | None:
    import fhirpathpy
    from fhirpathpy.models import models

    try:
        rewritten = _MATCHES.sub(lambda m: f".matches('^(?:{m[1]})$')", _HAS_VALUE.sub("exists()", expression))
        return fhirpathpy.compile(rewritten, models["r4"])
    except Exception:  # unsupported syntax: the invariant is skipped and counted
        return None


def evaluate(expression: str, node: Any, resource: dict[str, Any]) -> bool | None:
    """True/False for the invariant on ``node`` (``%resource`` = ``resource``); None when not evaluable."""
    function = compiled(expression)
    if function is None:
        return None
    try:
        result = function(node, {"resource": resource, "rootResource": resource})
    except Exception:
        return None
    if not result:  # an empty result is a pass (nothing to constrain)
        return True
    if all(isinstance(r, bool) for r in result):
        return all(result)
    return None


def has_value_key(element: dict[str, Any]) -> bool:
    """Whether a JSON element carries a ``value[x]`` (``valueString``, ``valueReference`` …)."""
    return any(key.startswith("value") and key[5:6].isupper() for key in element)


@cache
def core_invariants() -> dict[str, list[dict[str, str]]]:
    """FHIR R4 core invariants by resource type (key, path, expression, human, severity)."""
    data = json.loads(profiles_path("fhir", "core-invariants.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def nodes_at(resource: dict[str, Any], path: str) -> Iterator[tuple[Any, str]]:
    """(node, FHIRPath with list indices) of every node of the resource at an element path such as
    ``ConceptMap.group.element.target``."""
    root, *parts = path.split(".")
    frontier: list[tuple[Any, str]] = [(resource, root)]
    for part in parts:
        following: list[tuple[Any, str]] = []
        for node, where in frontier:
            value = node.get(part) if isinstance(node, dict) else None
            if isinstance(value, list):
                following.extend((item, f"{where}.{part}[{i}]") for i, item in enumerate(value))
            elif value is not None:
                following.append((value, f"{where}.{part}"))
        frontier = following
    yield from frontier
