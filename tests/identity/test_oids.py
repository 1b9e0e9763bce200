"""OID syntax, the known OIDs of the domain and UUID helpers."""

from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.identity import (
    KNOWN_OIDS,
    is_ii_root,
    is_oid,
    is_urn_uuid,
    is_uuid,
    new_urn_uuid,
    oid_problem,
    urn_uuid_to_uuid,
    uuid_to_oid,
)


@pytest.mark.parametrize(("value", "fragment"), [
    ("", "empty"),
    ("1", "at least two arcs"),
    ("1..3", "empty arc 2"),
    ("1.2.250.01", "leading zero"),
    ("1.2.x", "non-digit"),
    ("3.1", "first arc"),
    ("1.40", "≤ 39"),
    ("1.2." + "1" * 70, "longer than 64"),
])
def test_oid_problems(value: str, fragment: str) -> None:
    problem = oid_problem(value)
    assert problem is not None and fragment in problem


@given(st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=8))
def test_generated_oids_are_valid(arcs: list[int]) -> None:
    oid = ".".join(["1", "2", *map(str, arcs)])
    assert is_oid(oid) == (len(oid) <= 64)


def test_known_oids_are_valid() -> None:
    assert all(is_oid(oid) for oid in KNOWN_OIDS)
    assert "1.2.250.1.213.4.1.1.1.2" in KNOWN_OIDS and "1.2.250.1.213.1.4.10" in KNOWN_OIDS


def test_uuid_helpers() -> None:
    rng = random.Random(7)
    urn = new_urn_uuid(rng)
    assert urn == new_urn_uuid(random.Random(7))  # reproducible with a seed
    assert is_urn_uuid(urn) and urn_uuid_to_uuid(urn).version == 4
    assert is_uuid("582BB12C-7B63-11EB-9439-0242AC130012") and is_ii_root("582BB12C-7B63-11EB-9439-0242AC130012")
    assert not is_uuid("b70d20aa-0438-4092-ad2f-e376173c00R5")
    assert uuid_to_oid(uuid.UUID(int=5)) == "2.25.5"
    with pytest.raises(ValueError, match="urn:uuid"):
        urn_uuid_to_uuid("uuid:1234")
