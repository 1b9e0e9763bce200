"""SARIF 2.1.0, for code-scanning dashboards."""

from __future__ import annotations

import json
from collections.abc import Sequence

from conformance import __version__
from conformance.findings import ArtefactResult, Severity

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(results: Sequence[ArtefactResult]) -> str:
    rule_ids: dict[str, int] = {}
    sarif_results = []
    for result in results:
        for f in result.findings:
            index = rule_ids.setdefault(f.rule, len(rule_ids))
            location: dict = {"physicalLocation": {"artifactLocation": {"uri": result.path}}}
            if f.line:
                location["physicalLocation"]["region"] = {"startLine": f.line}
            if f.location:
                location["logicalLocations"] = [{"fullyQualifiedName": f.location, "kind": "element"}]
            text = f.message + (f" Hint: {f.hint}" if f.hint else "")
            sarif_results.append({"ruleId": f.rule, "ruleIndex": index, "level": _LEVEL[f.severity],
                                  "message": {"text": text}, "locations": [location],
                                  "properties": {"source": str(f.source)}})
    run = {
        "tool": {"driver": {"name": "dmp-conformance", "version": __version__,
                            "informationUri": "https://github.com/dmp-conformance/dmp-conformance",
                            "rules": [{"id": rid} for rid in rule_ids]}},
        "results": sarif_results,
    }
    return json.dumps({"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
                       "runs": [run]}, ensure_ascii=False, indent=2)
