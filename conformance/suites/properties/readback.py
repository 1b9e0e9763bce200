"""What the DMP under test gives back of a fed document, over SOAP (TD3.1 + TD3.2) and over FHIR (ITI-67 +
ITI-68): the same bytes, with the hash and size of those bytes."""

from __future__ import annotations

import base64
from typing import Any

from conformance.generate.fhir import sha1_base64
from conformance.generate.xds import SubmissionSpec
from conformance.suites.properties.fhir import FHIR_JSON, FhirDmp, documents
from conformance.suites.server_role.team import Team, find, sha1


def assert_soap_copy(team: Team, spec: SubmissionSpec) -> None:
    content = spec.document.content
    with team.client() as client:
        entry = find(client, spec.patient)[spec.unique_id]
        retrieved = client.retrieve([spec.unique_id], spec.patient).xds()
    assert entry.hash == sha1(content), f"registry hash {entry.hash} ≠ SHA-1 of the bytes"
    assert entry.size == str(len(content)), f"registry size {entry.size} ≠ {len(content)}"
    assert [d.content for d in retrieved.documents] == [content], "TD3.2 returned other bytes"


def assert_fhir_copy(fhir: FhirDmp, spec: SubmissionSpec) -> dict[str, Any]:
    """The checks over FHIR; the DocumentReference found."""
    content = spec.document.content
    with fhir.client() as client:
        found = documents(client, spec.patient)
        assert spec.unique_id in found, f"ITI-67 does not find uniqueId {spec.unique_id}"
        attachment = found[spec.unique_id]["content"][0]["attachment"]
        raw = client.get(attachment["url"], headers={"accept": "*/*"})
        binary = client.get(attachment["url"], headers={"accept": FHIR_JSON})  # PDSM4DMP TD3.2: a Binary
    assert attachment.get("hash") == sha1_base64(content), \
        f"attachment.hash {attachment.get('hash')} ≠ base64 SHA-1 of the bytes {sha1_base64(content)}"
    assert attachment.get("size") == len(content), f"attachment.size {attachment.get('size')} ≠ {len(content)}"
    assert raw.status_code == 200, f"ITI-68 on {attachment['url']} answered HTTP {raw.status_code}"
    assert raw.content == content, f"ITI-68 returned other bytes ({len(raw.content)} bytes, {len(content)} fed)"
    assert raw.headers.get("content-type", "").split(";")[0] == attachment.get("contentType"), \
        f"ITI-68 content-type {raw.headers.get('content-type')} ≠ attachment.contentType {attachment.get('contentType')}"
    assert binary.status_code == 200 and base64.b64decode(binary.json().get("data", "")) == content, \
        f"ITI-68 as a Binary resource: HTTP {binary.status_code}, other bytes"
    return found[spec.unique_id]  # type: ignore[no-any-return]
