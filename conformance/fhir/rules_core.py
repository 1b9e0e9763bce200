"""FHIR core rules that the R4B models cannot express, checked as the HL7 validator does (kind "fhir").

Data-type checks run on every value of the type, nested resources included (``canonical``); the ConceptMap
rules compare a map with the StructureDefinitions of the loaded packages it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from conformance.findings import Violation, rules

if TYPE_CHECKING:  # the validator imports this module: a run-time import would be circular
    from conformance.fhir.validator import FhirModel

# The HL7 validator's absolute URL test: a lower-case scheme, then a non-empty part without spaces.
_ABSOLUTE_URL = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s]+$")


def is_absolute_url(value: str) -> bool:
    return bool(_ABSOLUTE_URL.match(value))


@rules.register("FHIR-CANONICAL", kind="fhir", title="a canonical is an absolute URL or a #fragment reference",
                hint="write the full canonical URL (https://…/StructureDefinition/<id>, optionally |version), or "
                     "#<id> for a contained resource")
def canonical_urls(model: FhirModel) -> Iterator[Violation]:
    for value, where in model.typed("canonical"):
        if isinstance(value, str) and not (value.startswith("#") or is_absolute_url(value)):
            yield Violation(f"canonical {value!r} is neither an absolute URL nor a #fragment: canonical URLs must be "
                            "absolute URLs if they are not fragment references", location=where)
