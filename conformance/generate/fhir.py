"""PDSm (ITI-65) transaction bundles: DocumentReference + Binary pairs, with or without a Folder."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conformance.fhir.builders import iti65_bundle


def iti65_bundles(max_documents: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(iti65_bundle, documents=st.integers(1, max_documents),
                     seed=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
                     document_size=st.integers(1, 512), with_folder=st.booleans())
