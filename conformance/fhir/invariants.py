"""FHIRPath invariants: compiled once with fhirpathpy, plus the base invariants coded natively.

ele-1, ext-1 and dom-2..6 run natively (every element carries ele-1, and fhirpathpy cannot evaluate
``hasValue()`` nor the base dom-3 expression). Other expressions go through fhirpathpy; ``hasValue()`` is
rewritten as ``exists()`` (equivalent on the JSON primitives we evaluate). An expression fhirpathpy cannot
compile or run is counted as skipped, never reported as a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

NATIVE_KEYS = frozenset({"ele-1", "ext-1", "dom-2", "dom-3", "dom-4", "dom-5", "dom-6"})
_HAS_VALUE = re.compile(r"\bhasValue\(\)")

Compiled = Callable[[Any, dict[str, Any]], list[Any]]


@lru_cache(maxsize=2048)
def compiled(expression: str) -> Compiled | None:
    import fhirpathpy
    from fhirpathpy.models import models

    try:
        return fhirpathpy.compile(_HAS_VALUE.sub("exists()", expression), models["r4"])
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
