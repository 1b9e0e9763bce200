"""The FHIR PDSm API of the DMP under test as the team's professionals reach it: ITI-65, ITI-67, ITI-68 and the
securityLabel PATCH, each professional with a bearer token carrying its identity (the embedded DMP's test tokens,
as the PDSm suites get them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conformance.fhir.builders import RFC3986
from conformance.generate.fhir import security_labels, unique_id_of
from conformance.identity import Ins
from conformance.suites.fhir_tokens import BearerTokens

FHIR_JSON = "application/fhir+json"
EVERY_STATUS = "current,superseded"  # ITI-67: what a professional may see, replaced versions included


@dataclass(slots=True)
class FhirDmp:
    """The DMP at ``url`` (FHIR base ``url/fhir``); ``author`` calls when no one else is named."""

    url: str
    author: str
    token: BearerTokens

    @property
    def base(self) -> str:
        return f"{self.url}/fhir"

    @classmethod
    def on(cls, url: str, author: str, embedded: bool) -> FhirDmp:
        """The FHIR API of the DMP at ``url``; skips when it has none."""
        metadata = httpx.get(f"{url}/fhir/metadata", timeout=10.0)
        if metadata.status_code != 200:
            pytest.skip(f"the DMP under test exposes no FHIR API (GET /fhir/metadata: HTTP {metadata.status_code})")
        return cls(url, author, BearerTokens(f"{url}/fhir", embedded))

    @contextmanager
    def client(self, who: str | None = None) -> Iterator[httpx.Client]:
        headers = {"authorization": f"Bearer {self.token(who or self.author)}", "accept": FHIR_JSON}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30.0) as client:
            yield client


def provide(client: httpx.Client, bundle: dict[str, Any]) -> httpx.Response:
    """ITI-65: POST [base] of the transaction bundle."""
    return client.post(str(client.base_url).rstrip("/"), json=bundle, headers={"content-type": FHIR_JSON})


def search(client: httpx.Client, patient: Ins, status: str = EVERY_STATUS) -> httpx.Response:
    """ITI-67 on the patient's INS."""
    return client.get("/DocumentReference", params={"patient.identifier": f"urn:oid:{patient.oid}|{patient.value}",
                                                    "status": status})


def documents(client: httpx.Client, patient: Ins, status: str = EVERY_STATUS) -> dict[str, dict[str, Any]]:
    """ITI-67: the DocumentReferences the caller sees, by uniqueId."""
    response = search(client, patient, status)
    assert response.status_code == 200, f"ITI-67 answered HTTP {response.status_code}: {response.text[:600]}"
    found = {unique_id_of(e["resource"]): e["resource"] for e in response.json().get("entry", [])
             if e["resource"].get("resourceType") == "DocumentReference"}
    named = {u: r.get("subject", {}).get("identifier", {}).get("value") for u, r in found.items()}
    others = {u for u, ins in named.items() if ins is not None and ins != patient.value}  # by INS when given
    assert not others, f"ITI-67 on patient {patient.value} answers documents of other patients: {sorted(others)}"
    return found


def conditional_update(client: httpx.Client, replaced: str, resource: dict[str, Any]) -> httpx.Response:
    """Replacement by conditional update: PUT of the new ITI-105 DocumentReference on the uniqueId it replaces."""
    return client.put("/DocumentReference", params={"identifier": f"{RFC3986}|urn:oid:{replaced}"}, json=resource,
                      headers={"content-type": FHIR_JSON})


def set_mask(client: httpx.Client, resource_id: str, masked: bool) -> httpx.Response:
    """PDSm metadata update (PDSM4DMP TD3.3a): the securityLabel of a masked or unmasked document."""
    return client.patch(f"/DocumentReference/{resource_id}", headers={"content-type": "application/json-patch+json"},
                        json=[{"op": "replace", "path": "/securityLabel", "value": security_labels(masked)}])


def outcome_names(response: httpx.Response) -> set[str]:
    """What an OperationOutcome names: each issue's code, the rule ID or DMP code of its details, its
    expressions."""
    try:
        body = response.json()
    except ValueError:
        return set()
    names: set[str] = set()
    for issue in body.get("issue", []) if isinstance(body, dict) else []:
        names.add(str(issue.get("code")))
        names.add(str(issue.get("details", {}).get("text", "")).split(":", 1)[0])
        names.update(issue.get("expression", []))
    return names
