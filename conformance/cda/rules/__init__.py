"""Our own CI-SIS CDA rules. Importing this package registers every rule in ``conformance.findings.rules``
with kind ``"cda"``; each reads a :class:`conformance.cda.document.CdaDocument`.

Run them with ``rules.run("cda", document)``; :data:`CDA_RULE_IDS` lists their IDs (the requirement catalogue
reads titles and severities from the registry).
"""

from conformance.cda.rules import body, header, identifiers, replacement
from conformance.findings import rules

CDA_RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in rules.of_kind("cda"))

__all__ = ["CDA_RULE_IDS", "body", "header", "identifiers", "replacement"]
