"""Arbitrary damage to a valid bundle gives findings, never an exception nor a crashed rule."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.fhir import FhirValidator
from conformance.fhir.builders import iti65_bundle

BUNDLE = iti65_bundle(1)
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.just([]), st.just({}),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


PATHS = _paths(BUNDLE)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), JUNK), min_size=1, max_size=3))
def test_damaged_bundle_never_crashes(validator: FhirValidator, damage: list[tuple[tuple[Any, ...], Any]]) -> None:
    bundle = copy.deepcopy(BUNDLE)
    for path, junk in damage:
        target: Any = bundle
        try:
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = junk
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    result = validator.validate_bytes(json.dumps(bundle).encode(), "damaged.json")
    crashed = [f.message for f in result.findings if "could not be evaluated" in f.message]
    assert not crashed


@settings(max_examples=15, deadline=None)
@given(documents=st.integers(min_value=1, max_value=4), with_folder=st.booleans(),
       seed=st.text(alphabet="abcdef0123456789", min_size=1, max_size=8),
       size=st.integers(min_value=1, max_value=3000))
def test_built_bundles_are_always_valid(validator: FhirValidator, documents: int, with_folder: bool, seed: str,
                                        size: int) -> None:
    """No false positive on any well-formed submission the builder can make."""
    bundle = iti65_bundle(documents=documents, seed=seed, document_size=size, with_folder=with_folder)
    result = validator.validate_bytes(json.dumps(bundle).encode(), "built.json")
    assert result.valid, [(f.rule, f.location, f.message) for f in result.findings if f.is_error]
