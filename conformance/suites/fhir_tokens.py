"""Bearer tokens of professionals for the FHIR API of the DMP under test, shared by the PDSm and property suites.

The embedded reference DMP issues test tokens (``POST <base>/_token``); an external FHIR SUT has its tokens given
in the environment (``DMP_CONFORMANCE_FHIR_TOKEN`` for the author ``DMP_CONFORMANCE_FHIR_AUTHOR``,
``DMP_CONFORMANCE_FHIR_OTHER_TOKEN`` for a second authorized professional); a test needing another skips.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import httpx
import pytest

ENV = "DMP_CONFORMANCE_FHIR_"


@dataclass(slots=True)
class BearerTokens:
    """``tokens(idNat)``: a bearer token carrying that professional's identity."""

    fhir_base: str
    embedded: bool
    given: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_sut(cls, fhir_base: str, embedded: bool, author: str, colleague: str) -> BearerTokens:
        """The tokens of the environment for ``author`` and ``colleague``; the embedded DMP issues the others."""
        given = {author: os.environ.get(f"{ENV}TOKEN"), colleague: os.environ.get(f"{ENV}OTHER_TOKEN")}
        return cls(fhir_base.rstrip("/"), embedded, {who: token for who, token in given.items() if token})

    def __call__(self, subject: str) -> str:
        if subject not in self.given:  # test tokens outlive a run (one hour): one per professional
            if not self.embedded:
                pytest.skip(f"no bearer token for {subject} on the external FHIR SUT ({ENV}TOKEN / {ENV}OTHER_TOKEN)")
            answer = httpx.post(f"{self.fhir_base}/_token", json={"sub": subject}, timeout=10.0)
            answer.raise_for_status()
            self.given[subject] = str(answer.json()["access_token"])
        return self.given[subject]
