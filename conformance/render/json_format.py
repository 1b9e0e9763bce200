"""The JSON contract: ``{"documents": [{"path", "kind", "valid", "findings": [...]}]}``."""

from __future__ import annotations

import json
from collections.abc import Sequence

from conformance import __version__
from conformance.findings import ArtefactResult


def render(results: Sequence[ArtefactResult]) -> str:
    return json.dumps(
        {"tool": "dmp-conformance", "version": __version__, "documents": [r.to_dict() for r in results]},
        ensure_ascii=False, indent=2,
    )
