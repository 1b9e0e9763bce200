"""Hypothesis strategies for the identifiers and synthetic identities (for property tests of any layer).

``nirs()`` covers the whole NIR structure (provisional sex digits, months 20–42/99, Corsica, overseas, abroad),
which Faker never produces; ``patients()`` draws seeded :class:`SyntheticIdentities` so shrinking stays stable.
"""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.identity.national_ids import make_finess, make_rpps
from conformance.identity.nir import make_nir
from conformance.identity.synthetic import Patient, Professional, Structure, SyntheticIdentities

METROPOLITAN_DEPARTMENTS = st.one_of(
    st.integers(1, 95).map(lambda d: f"{d:02d}"),  # 20 = Corsica before 1976
    st.sampled_from(["2A", "2B", "99"]),
)
OVERSEAS_DEPARTMENTS = st.sampled_from(["971", "972", "973", "974", "975", "976", "984", "986", "987", "988"])


def digits(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


@st.composite
def birth_place_codes(draw: st.DrawFn) -> str:
    """5-character INSEE codes: department + 3-digit commune, overseas 97x/98x + 2 digits, or 99 + country."""
    if draw(st.booleans()):
        return draw(METROPOLITAN_DEPARTMENTS) + f"{draw(st.integers(1, 999)):03d}"
    return draw(OVERSEAS_DEPARTMENTS) + f"{draw(st.integers(1, 99)):02d}"


@st.composite
def nirs(draw: st.DrawFn) -> str:
    """Valid NIR/NIA values (structure and key)."""
    sex = draw(st.sampled_from("123478"))
    month = draw(st.one_of(st.integers(1, 12), st.integers(20, 42), st.just(99)))
    return make_nir(sex, draw(st.integers(0, 99)), month, draw(birth_place_codes()), draw(st.integers(1, 999)))


def rpps_numbers() -> st.SearchStrategy[str]:
    return digits(10).map(make_rpps)


def finess_numbers() -> st.SearchStrategy[str]:
    return st.tuples(st.integers(1, 95).map(lambda d: f"{d:02d}"), digits(6)).map(lambda t: make_finess(t[0] + t[1]))


def _seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2 ** 32 - 1)


def patients() -> st.SearchStrategy[Patient]:
    return _seeds().map(lambda seed: SyntheticIdentities(seed).patient())


def professionals() -> st.SearchStrategy[Professional]:
    return _seeds().map(lambda seed: SyntheticIdentities(seed).professional())


def structures() -> st.SearchStrategy[Structure]:
    return _seeds().map(lambda seed: SyntheticIdentities(seed).structure())
