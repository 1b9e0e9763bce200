"""Each document the software produced passes the CI-SIS validation and the bench's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.plugin import Evidence
from conformance.validation import ValidationContext, validate_bytes


@pytest.mark.requirement("BENCH-CDA-VALID")
def test_document_is_valid(
    document_path: Path | None, validation_context: ValidationContext, evidence: Evidence
) -> None:
    if document_path is None:
        pytest.skip("no documents given: pass --documents-dir DIR (or documents_dir in the preset)")
    result = validate_bytes(document_path.read_bytes(), str(document_path), validation_context)
    evidence.assert_valid(result, f"{document_path.name} ({result.kind})")
