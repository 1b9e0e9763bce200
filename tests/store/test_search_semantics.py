"""The SQL string search (``search_strings``) agrees with the FHIR string semantics written plainly in Python, on
SQLite and PostgreSQL, for generated search values: accents, case, ß/Œ folding and the LIKE wildcards ``%`` and
``_`` (escaped) included."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.store import SearchKind, Store, StringModifier, TextMatch
from conformance.store.names import folded
from tests.store.factory import submission
from tests.store.test_search_strings import found, named

FAMILIES = ["Lefèvre-Œil", "MARTIN", "martin", "Müller", "O'Neil", "Straße", "STRASSE", "50%_off", "Éloïse", "a/b\\c"]
ALPHABET = sorted(set("".join(FAMILIES)) | set("%_/\\éÉœ"))


def expected(modifier: StringModifier, wanted: str, value: str) -> bool:
    if modifier is StringModifier.EXACT:
        return value == wanted
    if modifier is StringModifier.CONTAINS:
        return folded(wanted) in folded(value)
    return folded(value).startswith(folded(wanted))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.requirement("BENCH-PDSM-SEARCH")
def test_sql_string_search_is_the_fhir_semantics(store: Store, data: st.DataObject) -> None:
    if not store.count_entries():  # the same documents for every example of this backend
        store.register_submission(submission(*(named(f"1.2.250.1.999.5.{i}", ("Jean", family))
                                               for i, family in enumerate(FAMILIES))))
    modifier = data.draw(st.sampled_from(list(StringModifier)))
    wanted = data.draw(st.one_of(st.text(ALPHABET, min_size=1, max_size=4), st.sampled_from(FAMILIES)))
    hits = {f"1.2.250.1.999.5.{i}" for i, family in enumerate(FAMILIES) if expected(modifier, wanted, family)}
    assert found(store, TextMatch(SearchKind.AUTHOR_FAMILY, (wanted,), modifier)) == hits

